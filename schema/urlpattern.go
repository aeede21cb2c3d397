package schema

// ProxyURLPattern is the JSON Schema pattern of a proxy URL, so an editor
// flags a bad scheme, a missing or out-of-range port, a path, a query or a
// fragment as the user types. It is deliberately looser than
// runtime.ParseURL (which Load applies and which words the exact reason):
// every URL ParseURL accepts matches, user information included, so the
// editor never flags a URL proxygen accepts.
//
// It is written in the common subset of RE2 (Go) and ECMAScript (editors):
// no flags, no lookaround, no '.' (ECMAScript's stops at U+2028, RE2's does
// not); case-insensitive schemes are spelled with character classes and the
// port range 1..65535 (leading zeros allowed, as ParseURL allows them) with
// alternatives. User information is everything up to the last '@', as in
// ParseURL.
const ProxyURLPattern = `^` + schemePattern + `://([^\n]*@)?` + hostPattern + `:` + portPattern + `/?$`

// ProxyURLPatternMessage is what an editor says when a url does not match
// ProxyURLPattern.
const ProxyURLPatternMessage = "proxy URL must be scheme://host:port: scheme http, https, socks4, socks4a, socks5 or socks5h; port 1..65535; no path, query or fragment"

const (
	// http, https, socks4, socks4a, socks5, socks5h in any case.
	schemePattern = `([hH][tT][tT][pP][sS]?|[sS][oO][cC][kK][sS](4[aA]?|5[hH]?))`
	// An IPv6 address in brackets, or a host name or IPv4 address.
	hostPattern = `(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)`
	// 1..65535.
	portPattern = `0*([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])`
)
