import Logging

enum LogSetup {
    /// Logs to stderr at the configured level; `subsystem` names the module in each line.
    static func logger(_ subsystem: String, level: String) -> Logger {
        var logger = Logger(label: "tessera.\(subsystem)")
        logger.logLevel = Logger.Level(rawValue: level) ?? .info
        return logger
    }
}
