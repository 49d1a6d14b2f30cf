/// CTR timestamps as instants, for dedup. Compared as text, `"not-a-time"` beat every real time
/// and `12:00:00+02:00` beat `11:00:00Z`; parsed, they compare as the moments they name.
public enum Timestamp {
    /// Nanoseconds since 1970-01-01T00:00:00Z of an ISO 8601 / RFC 3339 date-time:
    /// `YYYY-MM-DDThh:mm[:ss[.fraction]]` then `Z`, `±hh:mm`, `±hhmm` or `±hh` (no zone: UTC, as
    /// Connect writes UTC). `T` may be a space or `t`. Nil when the text is not such a time.
    public static func nanoseconds(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { nanoseconds(utf8: $0) }
    }

    /// The same from the text's UTF-8 bytes (no copy of them: this runs once per CTR read).
    public static func nanoseconds(utf8 b: UnsafeBufferPointer<UInt8>) -> Int64? {
        var i = 0
        func digits(_ n: Int) -> Int? {
            guard i + n <= b.count else { return nil }
            var v = 0
            for k in 0..<n {
                let c = b[i + k]
                guard (0x30...0x39).contains(c) else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            i += n
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(0x2d), let month = digits(2), expect(0x2d), let day = digits(2) else { return nil }
        guard i < b.count, b[i] == 0x54 || b[i] == 0x74 || b[i] == 0x20 else { return nil }
        i += 1
        guard let hour = digits(2), expect(0x3a), let minute = digits(2) else { return nil }
        var second = 0, nanos = 0
        if expect(0x3a) {
            guard let s = digits(2) else { return nil }
            second = s
            if i < b.count, b[i] == 0x2e || b[i] == 0x2c {
                i += 1
                var n = 0, scale = 100_000_000, any = false
                while i < b.count, (0x30...0x39).contains(b[i]) {
                    n += Int(b[i] - 0x30) * scale
                    scale /= 10
                    i += 1
                    any = true
                }
                guard any else { return nil }
                nanos = n
            }
        }
        var offsetSeconds = 0
        if i < b.count {
            let c = b[i]
            if c == 0x5a || c == 0x7a {
                i += 1
            } else if c == 0x2b || c == 0x2d {
                i += 1
                guard let oh = digits(2) else { return nil }
                var om = 0
                if i < b.count {
                    _ = expect(0x3a)
                    guard let m = digits(2) else { return nil }
                    om = m
                }
                guard oh <= 23, om <= 59 else { return nil }
                offsetSeconds = (oh * 3600 + om * 60) * (c == 0x2d ? -1 : 1)
            } else {
                return nil
            }
        }
        guard i == b.count else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month, year), hour <= 23, minute <= 59, second <= 60 else { return nil }
        let days = daysFromCivil(year, month, day)
        let seconds = Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + second - offsetSeconds)
        return seconds * 1_000_000_000 + Int64(nanos)
    }

    static func daysIn(_ month: Int, _ year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
}
