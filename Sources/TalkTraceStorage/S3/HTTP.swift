// The one file that owns every libcurl (`curl_*`) call.
import CCurl
import Foundation

/// A response: status, headers (names lowercased; a repeated header keeps its last value), body.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// The exchange did not complete (no connection, reset, timed out, body cut short): libcurl's
/// error in words.
public struct HTTPTransportError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Blocking HTTP(S) over libcurl, safe to call from many threads at once. Easy handles are kept
/// in a pool and reused, so each keeps its connection alive between requests (`curl_easy_reset`
/// keeps the connection cache). Proxies follow libcurl's usual variables (`https_proxy`,
/// `no_proxy`); `AWS_CA_BUNDLE` names extra trusted certificates, as for the AWS CLI.
public final class HTTPClient: @unchecked Sendable {
    public static let shared = HTTPClient()

    private let lock = NSLock()
    private var idle: [UnsafeMutableRawPointer] = []
    private let caBundle = ProcessInfo.processInfo.environment["AWS_CA_BUNDLE"].flatMap { $0.isEmpty ? nil : $0 }

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public init() { _ = Self.globalInit }

    deinit { for h in idle { curl_easy_cleanup(h) } }

    /// Collects what libcurl hands over.
    private final class Exchange {
        var body: [UInt8] = []
        var headers: [String: String] = [:]
        var limit: Int
        init(limit: Int) { self.limit = limit }
    }

    /// Sends one request and waits for the whole response.
    /// - Parameters:
    ///   - timeout: seconds for the whole exchange; `connectTimeout` for the connection alone.
    ///   - maxBody: a larger body fails the exchange (a reply that is not what was asked for).
    public func send(method: String, url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
                     timeout: Double = 60, connectTimeout: Double = 10, maxBody: Int = 64 << 20) -> Result<HTTPResponse, HTTPTransportError> {
        let handle = checkOut()
        guard let handle else { return .failure(HTTPTransportError(message: "libcurl could not start a transfer")) }
        var list: UnsafeMutablePointer<curl_slist>? = nil
        defer {
            curl_slist_free_all(list)
            checkIn(handle)
        }
        let exchange = Exchange(limit: maxBody)
        let context = Unmanaged.passUnretained(exchange).toOpaque()
        _ = tt_curl_set_string(handle, CURLOPT_URL, url)
        _ = tt_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = tt_curl_set_long(handle, CURLOPT_PATH_AS_IS, 1)  // the key as signed: no dot-segment removal
        _ = tt_curl_set_long(handle, CURLOPT_TIMEOUT_MS, Int(timeout * 1000))
        _ = tt_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(connectTimeout * 1000))
        _ = tt_curl_set_long(handle, CURLOPT_BUFFERSIZE, 256 << 10)  // fewer, larger reads of a body: 16 KiB by default
        if let caBundle { _ = tt_curl_set_string(handle, CURLOPT_CAINFO, caBundle) }
        switch method {
        case "GET": _ = tt_curl_set_long(handle, CURLOPT_HTTPGET, 1)
        case "HEAD": _ = tt_curl_set_long(handle, CURLOPT_NOBODY, 1)
        default:
            let bytes = body ?? []
            _ = (bytes + [0]).withUnsafeBufferPointer { b in
                b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { tt_curl_set_body(handle, $0, bytes.count) }
            }
            if method != "POST" { _ = tt_curl_set_string(handle, CURLOPT_CUSTOMREQUEST, method) }
        }
        // No `Expect: 100-continue` round trip, no `Accept` header nobody signed for.
        for line in headers.map({ "\($0.0): \($0.1)" }) + ["Expect:"] { list = curl_slist_append(list, line) }
        _ = tt_curl_set_headers(handle, list)
        _ = tt_curl_set_write(handle, { data, size, count, context in
            let exchange = Unmanaged<Exchange>.fromOpaque(context!).takeUnretainedValue()
            let n = size * count
            if exchange.body.count + n > exchange.limit { return 0 }  // libcurl fails the transfer
            exchange.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: n))
            return n
        }, context)
        _ = tt_curl_set_header_callback(handle, { data, size, count, context in
            let exchange = Unmanaged<Exchange>.fromOpaque(context!).takeUnretainedValue()
            let n = size * count
            let line = String(decoding: UnsafeRawBufferPointer(start: data, count: n), as: UTF8.self)
            if line.hasPrefix("HTTP/") {
                exchange.headers = [:]  // a new response (after 100 Continue or a redirect)
            } else if let colon = line.firstIndex(of: ":") {
                let name = line[..<colon].lowercased()
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
                exchange.headers[name] = value
                // One allocation for the body (a 4 MiB chunk grew by doubling otherwise).
                if name == "content-length", let n = Int(value), n <= exchange.limit { exchange.body.reserveCapacity(n) }
            }
            return n
        }, context)
        let code = curl_easy_perform(handle)
        withExtendedLifetime(exchange) {}
        if code != CURLE_OK {
            var message = String(cString: curl_easy_strerror(code))
            if code == CURLE_WRITE_ERROR { message = "the response body is larger than \(maxBody) bytes" }
            return .failure(HTTPTransportError(message: message))
        }
        return .success(HTTPResponse(status: tt_curl_response_code(handle), headers: exchange.headers, body: exchange.body))
    }

    private func checkOut() -> UnsafeMutableRawPointer? {
        lock.lock()
        let h = idle.popLast()
        lock.unlock()
        return h ?? curl_easy_init()
    }

    private func checkIn(_ handle: UnsafeMutableRawPointer) {
        curl_easy_reset(handle)
        lock.lock()
        idle.append(handle)
        lock.unlock()
    }
}
