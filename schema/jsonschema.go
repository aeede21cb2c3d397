package schema

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"

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

// JSONSchemaExtend says "exactly one of url, urls or direct: true", that
// the pool settings go only with url or urls, the ranges and enums of
// limits.go, and gives url and each urls item its pattern (a struct tag
// cannot hold the pattern's commas) with the message editors show when it
// fails (yaml-language-server and VS Code read patternErrorMessage;
// validators ignore unknown keywords).
func (ProxyConfig) JSONSchemaExtend(s *jsonschema.Schema) {
	if p, ok := s.Properties.Get("url"); ok {
		p.Pattern = ProxyURLPattern
		p.Extras = map[string]any{"patternErrorMessage": ProxyURLPatternMessage}
	}
	if p, ok := s.Properties.Get("urls"); ok && p.Items != nil {
		p.Items.Pattern = ProxyURLPattern
		p.Items.Extras = map[string]any{"patternErrorMessage": ProxyURLPatternMessage}
	}
	forbidden := []*jsonschema.Schema{{Required: []string{"url"}}, {Required: []string{"urls"}}}
	for _, k := range poolKeys {
		forbidden = append(forbidden, &jsonschema.Schema{Required: []string{k}})
	}
	s.OneOf = []*jsonschema.Schema{
		{
			Required:   []string{"url"},
			Properties: props("direct", &jsonschema.Schema{Const: false}),
		},
		{
			Required:   []string{"urls"},
			Properties: props("direct", &jsonschema.Schema{Const: false}),
		},
		{
			Required:   []string{"direct"},
			Properties: props("direct", &jsonschema.Schema{Const: true}),
			Not:        &jsonschema.Schema{AnyOf: forbidden},
		},
	}
	intRange(s, "timeout_seconds", MinTimeoutSeconds, MaxTimeoutSeconds, DefaultTimeoutSeconds)
	intRange(s, "attempt_timeout_seconds", MinTimeoutSeconds, MaxTimeoutSeconds, nil)
	if p, ok := s.Properties.Get("urls"); ok {
		p.MinItems = ptr(uint64(1))
		p.MaxItems = ptr(uint64(MaxPoolURLs))
		p.UniqueItems = true
	}
	if p, ok := s.Properties.Get("hedge_after_ms"); ok {
		p.Default = HedgeOff
		p.OneOf = []*jsonschema.Schema{
			{Const: HedgeOff},
			{Minimum: jsonInt(MinHedgeAfterMS), Maximum: jsonInt(MaxHedgeAfterMS)},
		}
	}
	if p, ok := s.Properties.Get("strategy"); ok {
		p.Type = "string"
		p.Default = DefaultStrategy
		for _, v := range Strategies() {
			p.Enum = append(p.Enum, v)
		}
	}
	if p, ok := s.Properties.Get("when_all_down"); ok {
		p.Type = "string"
		p.Default = DefaultWhenAllDown
		for _, v := range WhenAllDownValues() {
			p.Enum = append(p.Enum, v)
		}
	}
}

// JSONSchemaExtend sets eject's ranges and defaults.
func (Eject) JSONSchemaExtend(s *jsonschema.Schema) {
	intRange(s, "after_failures", MinEjectAfterFailures, MaxEjectAfterFailures, DefaultEjectAfterFailures)
	intRange(s, "seconds", MinEjectSeconds, MaxEjectSeconds, DefaultEjectSeconds)
	intRange(s, "max_seconds", MinEjectSeconds, MaxEjectMaxSeconds, DefaultEjectMaxSeconds)
}

// JSONSchemaExtend sets health_check's ranges and defaults.
func (HealthCheck) JSONSchemaExtend(s *jsonschema.Schema) {
	intRange(s, "interval_seconds", MinHealthIntervalSeconds, MaxHealthIntervalSeconds, DefaultHealthIntervalSeconds)
	intRange(s, "timeout_seconds", MinHealthTimeoutSeconds, MaxHealthTimeoutSeconds, DefaultHealthTimeoutSeconds)
}

// intRange sets an integer property's minimum, maximum and (when def is
// not nil) default.
func intRange(s *jsonschema.Schema, name string, lo, hi int, def any) {
	p, ok := s.Properties.Get(name)
	if !ok {
		panic("schema: no property " + name) // a renamed field; caught by every test
	}
	p.Type = "integer"
	p.Minimum, p.Maximum = jsonInt(lo), jsonInt(hi)
	if def != nil {
		p.Default = def
	}
}

func jsonInt(n int) json.Number { return json.Number(strconv.Itoa(n)) }

func ptr[T any](v T) *T { return &v }

func props(name string, s *jsonschema.Schema) *orderedmap.OrderedMap[string, *jsonschema.Schema] {
	p := jsonschema.NewProperties()
	p.Set(name, s)
	return p
}
