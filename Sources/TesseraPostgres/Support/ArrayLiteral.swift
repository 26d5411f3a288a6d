/// A PostgreSQL array literal, every element quoted and escaped (`{"a","b\"c"}`): passed as
/// one text parameter and cast in the statement (`$1::text[]`, `$1::int[]`).
public func postgresArrayLiteral(_ values: some Sequence<String>) -> String {
    var literal = "{"
    for (index, value) in values.enumerated() {
        if index > 0 { literal += "," }
        literal += "\""
        // By scalar: a quote followed by a combining mark is one Character, but still a quote to PostgreSQL.
        for scalar in value.unicodeScalars {
            if scalar == "\\" || scalar == "\"" { literal += "\\" }
            literal.unicodeScalars.append(scalar)
        }
        literal += "\""
    }
    return literal + "}"
}
