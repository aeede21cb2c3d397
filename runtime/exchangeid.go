package runtime

// ValidExchangeID reports whether id is a normalised exchange id:
// ^[a-z][a-z0-9]*(_[a-z0-9]+)*$. Ids hold no "__" and do not end in '_', so
// the environment overlay's "__" separator splits
// <prefix>EXCHANGES__<ID>__HTTP__URL unambiguously.
func ValidExchangeID(id string) bool {
	if id == "" || id[0] < 'a' || id[0] > 'z' || id[len(id)-1] == '_' {
		return false
	}
	for i := 1; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '_' && id[i-1] != '_':
		default:
			return false
		}
	}
	return true
}

// NormalizeExchangeID is the one exchange id folding: it lower-cases the
// ASCII letters A-Z and leaves every other byte as it is (no Unicode
// folding: the Kelvin sign is not a k). The runtime's lookups, Validate, the
// environment overlay, the spec loader and the generated ParseExchange all
// fold with it, so they agree on every input. It does not allocate when id
// has no upper-case letter.
func NormalizeExchangeID(id string) string {
	for i := 0; i < len(id); i++ {
		if foldASCII(id[i]) != id[i] {
			return string(appendFolded(make([]byte, 0, len(id)), id))
		}
	}
	return id
}

// foldASCII is the one ASCII case folding under NormalizeExchangeID,
// equalFold and the injector's lookup: 'A'-'Z' to 'a'-'z', any other byte
// unchanged.
func foldASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// appendFolded appends s folded with foldASCII to dst.
func appendFolded(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = append(dst, foldASCII(s[i]))
	}
	return dst
}

// equalFold reports whether s folded with foldASCII is lower, which must
// be as long as s and already folded.
func equalFold(lower, s string) bool {
	for i := 0; i < len(s); i++ {
		if foldASCII(s[i]) != lower[i] {
			return false
		}
	}
	return true
}
