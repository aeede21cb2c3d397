package gen

import (
	"fmt"

	"github.com/proxygen-go/proxygen/schema"
)

// goNames maps sorted ids to constant names. Load already rejects clashes
// with positions; this guards specs built in code.
func goNames(ids []string) ([]string, error) {
	names := make([]string, len(ids))
	seen := make(map[string]string, len(ids))
	for i, id := range ids {
		n := schema.GoName(id)
		if schema.ReservedGoName(n) {
			return nil, fmt.Errorf("exchanges.%s: Go name %s clashes with the generated API; rename the exchange", id, n)
		}
		if prev, ok := seen[n]; ok {
			return nil, fmt.Errorf("exchanges.%s: Go name %s is also the name of exchange %q; rename one of them", id, n, prev)
		}
		seen[n] = id
		names[i] = n
	}
	return names, nil
}
