import ArgumentParser

/// The `tessera` command line: each subcommand wires modules together and runs them.
@main
struct Tessera: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera",
        abstract: "Tessera: a batch-and-stream feature store daemon.",
        subcommands: [
            ServeCommand.self, DevKafkaCommand.self, ProduceCommand.self, KeysCommand.self, MigrateCommand.self,
            BackfillCommand.self, MaterializeCommand.self, TrainingSetCommand.self, VerifyCommand.self,
        ]
    )

    /// ArgumentParser's entry point, after what must happen before any thread starts.
    static func main() async {
        MallocArenas.limitToTwoPerCore()
        await Self.main(nil)
    }
}
