/// Search phrases, and the ways people type them.
///
/// Phrases are canonical (lower case, single spaces), which is what the decoder's query
/// normalisation must give back for any case or spacing variant. A typo makes a new canonical
/// query, as it would in a real search log.
enum DemoQueries {
    static let phrases: [String] = [
        "running shoes", "trail running shoes", "wireless earbuds", "noise cancelling headphones",
        "bluetooth speaker", "usb-c cable", "usb-c charger 65w", "phone case", "iphone 15 case",
        "screen protector", "laptop stand", "mechanical keyboard", "wireless mouse", "27\" monitor",
        "4k monitor", "hdmi cable 2m", "office chair", "standing desk", "desk lamp", "led strip lights",
        "coffee grinder", "espresso machine", "french press", "café espresso cups", "crème brûlée torch",
        "cast iron skillet", "non stick pan", "chef knife", "cutting board", "air fryer", "rice cooker",
        "blender", "water bottle", "yoga mat", "dumbbells set", "resistance bands", "backpack",
        "travel backpack 40l", "carry on luggage", "rain jacket", "down jacket", "wool socks",
        "merino t-shirt", "jeans slim fit", "summer dress", "sunglasses", "watch strap", "lego set",
        "board games", "jigsaw puzzle 1000", "dog bed", "cat litter", "aquarium filter", "garden hose",
        "cordless drill", "screwdriver set", "smart bulb", "robot vacuum", "bed sheets queen",
        "memory foam pillow", "bath towels", "scented candles", "sunscreen spf 50", "electric toothbrush",
        "protein powder", "green tea", "dark chocolate", "notebook a5", "fountain pen", "gift card",
        "jalapeño hot sauce", "piñata", "3/4\" drill bit", "kids bike", "phone charger",
    ]

    /// Phrases whose every character fits in Latin-1, with at least one beyond ASCII: the ones a
    /// misconfigured producer would send as Latin-1 bytes.
    static let latin1Phrases: [String] = phrases.filter { phrase in
        phrase.unicodeScalars.allSatisfy { $0.value <= 0xFF } && phrase.unicodeScalars.contains { $0.value >= 0x80 }
    }

    /// The phrase with one typing slip: two neighbouring letters swapped, a letter dropped or doubled.
    static func withTypo(_ phrase: String, using random: inout DemoRandom) -> String {
        var characters = Array(phrase)
        let letterPositions = characters.indices.filter { characters[$0].isLetter }
        guard letterPositions.count > 2 else { return phrase }
        let position = random.element(of: letterPositions)
        switch random.index(below: 3) {
        case 0 where position + 1 < characters.count && characters[position + 1].isLetter:
            characters.swapAt(position, position + 1)
        case 1:
            characters.remove(at: position)
        default:
            characters.insert(characters[position], at: position)
        }
        let typo = String(characters)
        // Dropping a one-letter word would leave two spaces: not canonical, so no typo then.
        return typo.contains("  ") || typo.first == " " || typo.last == " " ? phrase : typo
    }

    /// How someone might type a canonical query: capitals, stray and repeated whitespace.
    static func typedVariant(of query: String, using random: inout DemoRandom) -> String {
        let words = query.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        var cased: [String]
        switch random.unit() {
        case ..<0.65: cased = words
        case ..<0.85: cased = words.enumerated().map { $0.offset == 0 ? capitalized($0.element) : $0.element }
        case ..<0.95: cased = words.map(capitalized)
        default: cased = words.map { $0.uppercased() }
        }
        var typed = cased.joined(separator: random.chance(0.05) ? "  " : random.chance(0.02) ? "\t" : " ")
        if random.chance(0.08) { typed += " " }
        if random.chance(0.05) { typed = "  " + typed + " " }
        return typed
    }

    private static func capitalized(_ word: String) -> String {
        word.prefix(1).uppercased() + word.dropFirst()
    }
}
