package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"go.yaml.in/yaml/v3"

	"github.com/proxygen-go/proxygen/runtime"
)

type jsonNumber = json.Number

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, fmt.Errorf("embedded schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		return nil, fmt.Errorf("embedded schema: %w", err)
	}
	sch, err := c.Compile(SchemaID)
	if err != nil {
		return nil, fmt.Errorf("embedded schema: %w", err)
	}
	return sch, nil
})

func (l *loader) validateSchema(root map[string]any) {
	sch, err := compiled()
	if err != nil {
		l.errAt(nil, nil, "%v", err)
		return
	}
	err = sch.Validate(root)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		l.schemaErr(ve)
	} else if err != nil {
		l.errAt(nil, nil, "%v", err)
	}
}

// schemaErr walks the causes of a validation error down to the leaves and
// turns each into a short message at the right position.
func (l *loader) schemaErr(ve *jsonschema.ValidationError) {
	switch k := ve.ErrorKind.(type) {
	case *kind.OneOf, *kind.AnyOf, *kind.Not:
		// Only "url | urls | direct: true" and hedge_after_ms use these;
		// checkPools words them.
		return
	case *kind.PropertyNames:
		// v6 shares this InstanceLocation's backing array with later
		// siblings, so it may be garbled; exchanges is the only mapping
		// with propertyNames.
		p := []string{"exchanges", k.Property}
		at := l.locs[strings.Join(p, pathSep)]
		if why := exchangeIDProblem(k.Property); why != "" {
			l.errAt(at.key, p, "exchange id %s %s%s", quote(k.Property), why, suggestID(k.Property))
			return
		}
		l.errAt(at.key, p, "exchange id must match %s (got %s)%s", ExchangeKeyPattern, quote(k.Property), suggestID(k.Property))
		return
	}
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			l.schemaErr(c)
		}
		return
	}
	path := ve.InstanceLocation
	p := strings.Join(path, pathSep)
	if l.skipped(path) {
		return
	}
	at := l.locs[p]
	switch k := ve.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		for _, name := range k.Properties {
			kp := appendPath(path, name)
			l.errAt(l.locs[strings.Join(kp, pathSep)].key, kp, "unknown key %s%s", quote(name), didYouMean(path, name))
		}
	case *kind.Required:
		for _, name := range k.Missing {
			l.errAt(at.val, path, "missing required key %s", quote(name))
		}
	case *kind.Type:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = typeName(w)
		}
		l.errAt(at.val, path, "must be %s (got %s)", strings.Join(want, " or "), l.got(path, at.val))
	case *kind.Enum:
		if len(k.Want) == 1 {
			l.errAt(at.val, path, "must be %s (got %s)", display(k.Want[0]), l.got(path, at.val))
			break
		}
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = display(w)
		}
		l.errAt(at.val, path, "must be one of %s (got %s)", strings.Join(want, ", "), l.got(path, at.val))
	case *kind.Const:
		l.errAt(at.val, path, "must be %s (got %s)", display(k.Want), l.got(path, at.val))
	case *kind.Minimum:
		l.errAt(at.val, path, "must be >= %s (got %s)", ratString(k.Want), l.got(path, at.val))
	case *kind.Maximum:
		l.errAt(at.val, path, "must be <= %s (got %s)", ratString(k.Want), l.got(path, at.val))
	case *kind.MinLength:
		if k.Want == 1 {
			l.errAt(at.val, path, "must not be empty")
			break
		}
		l.errAt(at.val, path, "must be at least %d characters long", k.Want)
	case *kind.MaxProperties:
		l.errAt(at.val, path, "at most %d entries are supported (got %d)", k.Want, k.Got)
	case *kind.MinItems:
		l.errAt(at.val, path, "must have at least %s (got %d)", items(k.Want), k.Got)
	case *kind.MaxItems:
		l.errAt(at.val, path, "must have at most %s (got %d)", items(k.Want), k.Got)
	case *kind.UniqueItems:
		// checkURLs reports duplicates at the later one, also after
		// normalisation.
	case *kind.MaxLength:
		l.errAt(at.val, path, "must be at most %d characters long", k.Want)
	case *kind.Pattern:
		l.errAt(at.val, path, "must match %s (got %s)", k.Want, l.got(path, at.val))
	default:
		// Not used by the schema today; name the keyword, never the value.
		l.errAt(at.val, path, "fails the schema's %s rule", strings.Join(ve.ErrorKind.KeywordPath(), "/"))
	}
}

// skipped reports whether path is at or under a value that was not converted.
func (l *loader) skipped(path []string) bool {
	for i := len(path); i >= 0 && len(l.skip) > 0; i-- {
		if l.skip[strings.Join(path[:i], pathSep)] {
			return true
		}
	}
	return false
}

// got describes the value at path for "(got ...)": proxy URLs are never
// echoed, whatever their type.
func (l *loader) got(path []string, n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	if len(path) > 0 && noEcho[path[len(path)-1]] {
		return describe(n)
	}
	if s, ok := l.shownString(n); ok {
		return s
	}
	return show(n)
}

// noEcho are the keys whose values may hold credentials.
var noEcho = map[string]bool{"url": true, "urls": true, "user": true, "password": true}

func typeName(t string) string {
	switch t {
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	case "integer":
		return "an integer"
	case "null":
		return "null"
	}
	return "a " + t
}

func display(v any) string {
	if s, ok := v.(string); ok {
		return quote(s)
	}
	return fmt.Sprint(v)
}

func ratString(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return fmt.Sprint(f)
}

// checkSemantics checks what the schema cannot: proxy URLs, url | urls |
// direct: true and the pool rules (pool.go), integers written as floats,
// and exchange ids that collide once lower-cased.
func (l *loader) checkSemantics(root map[string]any) {
	l.checkInteger([]string{"version"})
	if name, ok := root["package"].(string); ok {
		// The schema's pattern reports a name that is no identifier.
		if err := CheckPackageName(name); err != nil && !errors.Is(err, ErrPackageNotIdentifier) {
			l.errAt(l.locs["package"].val, []string{"package"}, "%s %v", quote(name), err)
		}
	}
	l.checkPools(root)
	if d, ok := root["default"].(map[string]any); ok {
		l.checkTransports(d, []string{"default"})
	}
	ex, ok := root["exchanges"].(map[string]any)
	if !ok {
		return
	}
	// Walk keys in file order so the second of two colliding ids is the one
	// reported.
	seen := make(map[string]*yaml.Node, len(ex))
	var ids []string
	var keys []*yaml.Node // the key of each of ids
	if n := l.locs["exchanges"].val; n != nil && n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
				continue
			}
			id := runtime.NormalizeExchangeID(k.Value)
			if f := seen[id]; f != nil && f != k {
				if f.Value != k.Value { // identical keys are reported as duplicate keys
					l.errAt(k, []string{"exchanges", k.Value}, "exchange id %s duplicates %s (first at line %d)", quote(k.Value), quote(f.Value), f.Line)
				}
				continue
			}
			seen[id] = k
			if !ValidExchangeID(id) {
				continue // reported by the schema
			}
			ids = append(ids, id)
			keys = append(keys, k)
		}
	}
	_, clashes := GoNames(ids)
	for _, c := range clashes {
		k := keys[c.Index]
		if c.With < 0 {
			l.errAt(k, []string{"exchanges", k.Value}, "exchange id %s would be Go constant %s, which the generated API uses; rename the exchange", quote(k.Value), c.Name)
			continue
		}
		f := keys[c.With]
		l.errAt(k, []string{"exchanges", k.Value}, "exchange id %s and %s (line %d) both give Go constant %s; rename one", quote(k.Value), quote(f.Value), f.Line, c.Name)
	}
	for id, t := range ex {
		if m, ok := t.(map[string]any); ok {
			l.checkTransports(m, []string{"exchanges", id})
		}
	}
}

func (l *loader) checkTransports(t map[string]any, path []string) {
	for _, tr := range [...]string{"http", "websocket"} {
		if pc, ok := t[tr].(map[string]any); ok {
			l.checkProxy(pc, appendPath(path, tr))
		}
	}
}

func (l *loader) checkProxy(pc map[string]any, path []string) {
	l.checkInteger(appendPath(path, "timeout_seconds"))
	// url | urls | direct and the pool settings: checkPools (pool.go).
	raw, ok := pc["url"].(string)
	if !ok || raw == "" {
		return // the schema reports the type or emptiness
	}
	l.checkURL(raw, appendPath(path, "url"))
}

// checkURL checks one proxy URL (url, or a member of urls) at path and
// returns it parsed, or nil after reporting why it is invalid.
func (l *loader) checkURL(raw string, path []string) *runtime.Proxy {
	p, err := runtime.ParseURL(raw, runtime.ParseURLOptions{AllowInlineCredentials: l.opts.AllowInlineCredentials})
	if err != nil {
		var ue *runtime.URLError
		msg := "invalid proxy URL"
		if errors.As(err, &ue) {
			// Its text never quotes the URL (only an out-of-range port).
			msg = capString(ue.Error(), maxMsg)
		}
		l.errAt(l.locs[strings.Join(path, pathSep)].val, path, "%s", msg)
		return nil
	}
	return p
}

// checkInteger rejects a float such as 5.0 where the schema accepts it as
// an integer.
func (l *loader) checkInteger(path []string) {
	n := l.locs[strings.Join(path, pathSep)].val
	if n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" {
		l.errAt(n, path, "must be an integer (got %s)", show(n))
	}
}

// build converts a valid tree into a Spec, lower-casing exchange ids.
func build(root map[string]any) *Spec {
	s := &Spec{}
	s.Version = int(root["version"].(int64))
	enabled := root["enabled"].(bool)
	s.Enabled = &enabled
	s.Package, _ = root["package"].(string)
	s.EnvPrefix, _ = root["env_prefix"].(string)
	s.Lock, _ = root["lock"].(bool)
	if d, ok := root["default"].(map[string]any); ok {
		s.Default = buildTransports(d)
	}
	if ex, ok := root["exchanges"].(map[string]any); ok {
		s.Exchanges = make(map[string]*Transports, len(ex))
		for id, t := range ex {
			s.Exchanges[runtime.NormalizeExchangeID(id)] = buildTransports(t.(map[string]any))
		}
	}
	return s
}

func buildTransports(t map[string]any) *Transports {
	out := &Transports{}
	if pc, ok := t["http"].(map[string]any); ok {
		out.HTTP = buildProxy(pc)
	}
	if pc, ok := t["websocket"].(map[string]any); ok {
		out.WebSocket = buildProxy(pc)
	}
	return out
}

func buildProxy(pc map[string]any) *ProxyConfig {
	c := &ProxyConfig{}
	c.URL, _ = pc["url"].(string)
	c.Direct, _ = pc["direct"].(bool)
	if o, ok := pc["optimistic"].(bool); ok {
		c.Optimistic = &o
	}
	if t, ok := pc["timeout_seconds"].(int64); ok {
		secs := int(t)
		c.TimeoutSeconds = &secs
	}
	buildPool(c, pc)
	return c
}
