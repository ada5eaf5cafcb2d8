package libpod

import (
	"crypto/rand"
	"encoding/hex"
	"math/big"
)

// Random names are adjective_surname, as Docker's; these word lists are tug's
// own: adjectives of temperament, and surnames of people who shaped computing,
// mathematics and the sciences.
var nameAdjectives = []string{
	"agile", "amused", "ardent", "bold", "brave", "breezy", "bright", "calm", "candid", "careful",
	"cheerful", "clever", "cosmic", "curious", "daring", "deft", "devoted", "dreamy", "eager", "earnest",
	"elated", "epic", "fervent", "fierce", "fond", "frank", "gallant", "gentle", "gifted", "glad",
	"graceful", "hardy", "hearty", "honest", "humble", "jolly", "jovial", "keen", "kind", "lively",
	"loyal", "lucid", "lucky", "merry", "mellow", "mindful", "modest", "nimble", "noble", "patient",
	"peaceful", "plucky", "polite", "proud", "quiet", "quirky", "radiant", "rapid", "ready", "resolute",
	"serene", "sharp", "shiny", "sincere", "snappy", "spry", "steady", "stoic", "sturdy", "sunny",
	"swift", "tender", "thrifty", "tidy", "tranquil", "trusty", "upbeat", "valiant", "vivid", "warm",
	"wise", "witty", "zany", "zealous", "zesty",
}

var nameSurnames = []string{
	"agnesi", "ampere", "archimedes", "babbage", "backus", "bernoulli", "bohr", "boole", "cantor", "cauchy",
	"cerf", "chandrasekhar", "church", "codd", "copernicus", "curie", "darwin", "descartes", "dijkstra", "dirac",
	"euclid", "euler", "faraday", "fermat", "fermi", "feynman", "fibonacci", "fourier", "franklin", "galileo",
	"galois", "gauss", "godel", "hamming", "hawking", "heisenberg", "hertz", "hilbert", "hopper", "huffman",
	"hypatia", "jacobi", "johnson", "joule", "kelvin", "kepler", "knuth", "kolmogorov", "lagrange", "lamport",
	"laplace", "leibniz", "liskov", "lovelace", "maxwell", "meitner", "mendel", "minsky", "napier", "nash",
	"neumann", "newton", "noether", "ohm", "pascal", "pasteur", "pauli", "planck", "poincare", "ramanujan",
	"riemann", "ritchie", "rutherford", "shannon", "somerville", "tesla", "thompson", "torvalds", "turing", "volta",
	"wiles", "wirth", "yonath", "zuse",
}

func randomIndex(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0
	}
	return int(v.Int64())
}

// randomName returns adjective_surname; after collisions, a digit is added as Docker does.
func randomName(attempt int) string {
	name := nameAdjectives[randomIndex(len(nameAdjectives))] + "_" + nameSurnames[randomIndex(len(nameSurnames))]
	if attempt > 3 {
		name += string(rune('0' + randomIndex(10)))
	}
	return name
}

// newID returns 64 random hex digits, never all digits (so it cannot be
// mistaken for a number, as Docker ensures).
func newID() string {
	for {
		b := make([]byte, 32)
		rand.Read(b)
		id := hex.EncodeToString(b)
		for _, c := range id[:12] {
			if c > '9' {
				return id
			}
		}
	}
}
