import Foundation
import Logging

enum LogSetup {
    /// Structured JSON lines on stdout, or readable lines when stdout is a terminal.
    /// Bootstraps swift-log once per process, so every module's loggers follow.
    static func logger(_ subsystem: String, level: String) -> Logger {
        let parsed = Logger.Level(rawValue: level) ?? .info
        _ = bootstrap
        var logger = Logger(label: "tessera.\(subsystem)")
        logger.logLevel = parsed
        return logger
    }

    private static let bootstrap: Void = {
        let terminal = isatty(STDOUT_FILENO) != 0
        LoggingSystem.bootstrap { label in
            terminal ? StreamLogHandler.standardOutput(label: label) as any LogHandler : JSONLogHandler(label: label)
        }
    }()
}
