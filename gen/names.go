package gen

import (
	"fmt"

	"github.com/proxygen-go/proxygen/schema"
)

// goNames maps sorted ids to constant names by schema.GoNames. Load
// already rejects clashes with positions; this guards specs built in code.
func goNames(ids []string) ([]string, error) {
	names, clashes := schema.GoNames(ids)
	if len(clashes) == 0 {
		return names, nil
	}
	c := clashes[0]
	if c.With < 0 {
		return nil, fmt.Errorf("exchanges.%s: Go name %s clashes with the generated API; rename the exchange", ids[c.Index], c.Name)
	}
	return nil, fmt.Errorf("exchanges.%s: Go name %s is also the name of exchange %q; rename one of them", ids[c.Index], c.Name, ids[c.With])
}
