package schema

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/invopop/jsonschema"
	orderedmap "github.com/pb33f/ordered-map/v2"
)

//go:generate go test -run TestSchemaUpToDate -update .

// SchemaID is the absolute $id of the spec's JSON Schema.
const SchemaID = "https://proxygen-go.github.io/proxygen/schema/v1.json"

// ExchangeKeyPattern is what the schema accepts as an exchange key: the
// case-insensitive form of ExchangeIDPattern. Load lower-cases keys
// afterwards.
const ExchangeKeyPattern = `^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*$`

//go:embed schema.json
var schemaJSON []byte

// JSON returns the committed JSON Schema of spec version 1 (a copy).
func JSON() []byte { return append([]byte(nil), schemaJSON...) }

// Reflect derives the JSON Schema from the Spec types; schema.json is its
// committed output.
func Reflect() ([]byte, error) {
	r := &jsonschema.Reflector{
		BaseSchemaID:   jsonschema.ID(SchemaID),
		ExpandedStruct: true,
	}
	s := r.Reflect(&Spec{})
	s.ID = jsonschema.ID(SchemaID)
	s.Version = "http://json-schema.org/draft-07/schema#"
	s.Title = "proxygen spec"
	s.Description = "Proxy routes per exchange and transport, compiled by proxygen into Go code."
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal schema: %w", err)
	}
	return append(b, '\n'), nil
}

// JSONSchemaExtend adds what struct tags cannot say: exchange key names,
// their number, and the package names Go refuses.
func (Spec) JSONSchemaExtend(s *jsonschema.Schema) {
	if p, ok := s.Properties.Get("exchanges"); ok {
		p.PropertyNames = &jsonschema.Schema{Pattern: ExchangeKeyPattern}
		max := uint64(MaxExchanges)
		p.MaxProperties = &max
	}
	if p, ok := s.Properties.Get("package"); ok {
		// The pattern admits Go keywords, _ and main; CheckPackageName
		// words the error, this lets editors flag them too.
		bad := []any{"_", "main"}
		for _, k := range goKeywords() {
			bad = append(bad, k)
		}
		p.Not = &jsonschema.Schema{Enum: bad}
	}
	if p, ok := s.Properties.Get("version"); ok {
		p.Type = "integer"
	}
}

// JSONSchemaExtend says "exactly one of url or direct: true" and gives url
// its pattern (a struct tag cannot hold the pattern's commas) with the
// message editors show when it fails (yaml-language-server and VS Code read
// patternErrorMessage; validators ignore unknown keywords).
func (ProxyConfig) JSONSchemaExtend(s *jsonschema.Schema) {
	if p, ok := s.Properties.Get("url"); ok {
		p.Pattern = ProxyURLPattern
		p.Extras = map[string]any{"patternErrorMessage": ProxyURLPatternMessage}
	}
	s.OneOf = []*jsonschema.Schema{
		{
			Required:   []string{"url"},
			Properties: props("direct", &jsonschema.Schema{Const: false}),
		},
		{
			Required:   []string{"direct"},
			Properties: props("direct", &jsonschema.Schema{Const: true}),
			Not:        &jsonschema.Schema{Required: []string{"url"}},
		},
	}
}

func props(name string, s *jsonschema.Schema) *orderedmap.OrderedMap[string, *jsonschema.Schema] {
	p := jsonschema.NewProperties()
	p.Set(name, s)
	return p
}
