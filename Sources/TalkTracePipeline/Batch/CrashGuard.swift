import Foundation

/// Makes a recording whose analysis crashes the process (a trap in TalkTrace, which is a bug)
/// cost one recording, not the night: while a worker analyzes a file, the file's `Crashed` line
/// for the resume cache and a one-line message are ready in memory; a fatal signal on that thread
/// (SIGILL and SIGTRAP from Swift traps, SIGSEGV, SIGBUS, SIGFPE, SIGABRT) writes both with
/// `write(2)` — async-signal-safe, nothing allocated — and the process then dies of the signal as
/// before. `batch --resume` reads the line and records the file as failed instead of analyzing it
/// again. A kill the process cannot catch (SIGKILL, the out-of-memory killer) is covered by the
/// cache's count of unfinished attempts (`AnalysisCache.maxAttempts`).
enum CrashGuard {
    struct Slot {
        var thread: pthread_t = 0
        var active = false
        var line: UnsafeMutablePointer<UInt8>?
        var lineCount = 0
        var message: UnsafeMutablePointer<UInt8>?
        var messageCount = 0
    }

    nonisolated(unsafe) static var slots: UnsafeMutablePointer<Slot>?
    nonisolated(unsafe) static var slotCount = 0
    nonisolated(unsafe) static var cacheFD: Int32 = -1
    static let signals: [Int32] = [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGABRT]

    /// Installs the handlers for `workers` worker slots writing to the cache descriptor `fd`.
    static func install(workers: Int, cacheFD fd: Int32) {
        let s = UnsafeMutablePointer<Slot>.allocate(capacity: workers)
        s.initialize(repeating: Slot(), count: workers)
        slots = s
        slotCount = workers
        cacheFD = fd
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in CrashGuard.handle(signal) }
        action.sa_flags = Int32(bitPattern: UInt32(SA_RESETHAND) | UInt32(SA_ONSTACK))
        sigemptyset(&action.sa_mask)
        for sig in signals { sigaction(sig, &action, nil) }
    }

    /// Puts the handlers back (the batch is over) and frees the slots.
    static func uninstall() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = SIG_DFL
        for sig in signals { sigaction(sig, &action, nil) }
        if let s = slots {
            for i in 0..<slotCount { s[i].line?.deallocate(); s[i].message?.deallocate() }
            s.deallocate()
        }
        slots = nil
        slotCount = 0
        cacheFD = -1
    }

    /// Gives the calling worker thread an alternate signal stack, so even a stack overflow reaches
    /// the handler. Returns the stack, to free with `leaveThread`.
    static func enterThread() -> UnsafeMutableRawPointer {
        let size = 1 << 16
        let memory = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        var stack = stack_t()
        stack.ss_sp = memory
        stack.ss_size = size
        stack.ss_flags = 0
        sigaltstack(&stack, nil)
        return memory
    }

    static func leaveThread(_ memory: UnsafeMutableRawPointer) {
        var stack = stack_t()
        stack.ss_flags = Int32(SS_DISABLE)
        sigaltstack(&stack, nil)
        memory.deallocate()
    }

    /// Worker `slot` starts on a file: `line` is its cache line, `message` its stderr line.
    static func arm(slot: Int, line: [UInt8], message: [UInt8]) {
        guard let s = slots, slot < slotCount else { return }
        s[slot].active = false
        s[slot].line?.deallocate()
        s[slot].message?.deallocate()
        let l = UnsafeMutablePointer<UInt8>.allocate(capacity: line.count)
        l.initialize(from: line, count: line.count)
        let m = UnsafeMutablePointer<UInt8>.allocate(capacity: message.count)
        m.initialize(from: message, count: message.count)
        s[slot].line = l
        s[slot].lineCount = line.count
        s[slot].message = m
        s[slot].messageCount = message.count
        s[slot].thread = pthread_self()
        s[slot].active = true
    }

    static func disarm(slot: Int) {
        guard let s = slots, slot < slotCount else { return }
        s[slot].active = false
    }

    /// The signal handler: only `pthread_self`, comparisons and `write`.
    static func handle(_ signal: Int32) {
        guard let s = slots else { return }
        let me = pthread_self()
        for i in 0..<slotCount where s[i].active && pthread_equal(s[i].thread, me) != 0 {
            if cacheFD >= 0, let line = s[i].line { _ = write(cacheFD, line, s[i].lineCount) }
            if let message = s[i].message { _ = write(2, message, s[i].messageCount) }
            s[i].active = false
        }
        // SA_RESETHAND restored the default action: returning re-runs the faulting instruction,
        // which now ends the process with the signal; a raised signal (abort) is raised again.
        if signal == SIGABRT || signal == SIGTRAP { raise(signal) }
    }
}
