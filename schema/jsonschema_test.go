package schema

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var update = flag.Bool("update", false, "rewrite schema.json from the Spec types")

func TestSchemaUpToDate(t *testing.T) {
	got, err := Reflect()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("schema.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	disk, err := os.ReadFile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, disk) {
		t.Fatal("schema.json is stale: run go generate ./schema (or go test ./schema -run TestSchemaUpToDate -update)")
	}
	if !bytes.Equal(JSON(), disk) {
		t.Fatal("embedded schema differs from schema.json")
	}
}

func TestSchemaShape(t *testing.T) {
	var s map[string]any
	if err := json.Unmarshal(JSON(), &s); err != nil {
		t.Fatal(err)
	}
	if s["$schema"] != "http://json-schema.org/draft-07/schema#" {
		t.Errorf("$schema = %v", s["$schema"])
	}
	if s["$id"] != SchemaID || !strings.HasPrefix(SchemaID, "https://") {
		t.Errorf("$id = %v", s["$id"])
	}
	// Every object schema forbids unknown keys.
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if v["type"] == "object" {
				if _, isMap := v["propertyNames"]; !isMap && v["additionalProperties"] != false {
					t.Errorf("%s: additionalProperties = %v, want false", path, v["additionalProperties"])
				}
			}
			for k, c := range v {
				walk(path+"/"+k, c)
			}
		case []any:
			for _, c := range v {
				walk(path+"/[]", c)
			}
		}
	}
	walk("#", s)
	req, _ := s["required"].([]any)
	if len(req) != 2 || req[0] != "version" || req[1] != "enabled" {
		t.Errorf("required = %v, want [version enabled]", req)
	}
}

// The schema alone (as an editor uses it) enforces the documented rules.
func TestSchemaAlone(t *testing.T) {
	sch, err := compiled()
	if err != nil {
		t.Fatal(err)
	}
	base := `"version": 1, "enabled": true`
	tests := []struct {
		doc  string
		want bool
	}{
		{`{` + base + `}`, true},
		{`{"enabled": true}`, false},
		{`{"version": 1}`, false},
		{`{"version": 2, "enabled": true}`, false},
		{`{` + base + `, "extra": 1}`, false},
		{`{` + base + `, "default": {"http": {"url": "socks5h://h:1"}}}`, true},
		{`{` + base + `, "default": {"ftp": {}}}`, false},
		{`{` + base + `, "default": {"http": {"url": "socks5h://h:1", "x": 1}}}`, false},
		{`{` + base + `, "default": {"http": {"direct": true}}}`, true},
		{`{` + base + `, "default": {"http": {"direct": false}}}`, false},
		{`{` + base + `, "default": {"http": {}}}`, false},
		{`{` + base + `, "default": {"http": {"url": "socks5h://h:1", "direct": true}}}`, false},
		{`{` + base + `, "default": {"http": {"url": "socks5h://h:1", "direct": false}}}`, true},
		{`{` + base + `, "default": {"http": {"url": "socks5h://h:1", "timeout_seconds": 300}}}`, true},
		{`{` + base + `, "default": {"http": {"url": "socks5h://h:1", "timeout_seconds": 301}}}`, false},
		{`{` + base + `, "default": {"http": {"url": "socks5h://h:1", "timeout_seconds": 0}}}`, false},
		{`{` + base + `, "default": {"http": {"url": "socks5h://h:1", "timeout_seconds": 5.5}}}`, false},
		{`{` + base + `, "default": {"http": {"url": "socks5h://h:1", "timeout_seconds": "5"}}}`, false},
		{`{` + base + `, "default": {"http": {"url": "ftp://h:21"}}}`, false},
		{`{` + base + `, "default": {"http": {"url": "socks5h://h"}}}`, false},
		{`{` + base + `, "default": {"http": {"url": "socks5h://h:65536"}}}`, false},
		{`{` + base + `, "default": {"http": {"url": "socks5h://h:1080/x"}}}`, false},
		{`{` + base + `, "default": {"http": {"url": "SOCKS5H://${U}:${P}@[::1]:65535/"}}}`, true},
		{`{` + base + `, "exchanges": {"Binance_2": {}}}`, true},
		{`{` + base + `, "exchanges": {"1inch": {}}}`, false},
		{`{` + base + `, "exchanges": {"bin-ance": {}}}`, false},
	}
	for _, tt := range tests {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(tt.doc))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(v); (err == nil) != tt.want {
			t.Errorf("%s: valid = %v, want %v (%v)", tt.doc, err == nil, tt.want, err)
		}
	}
}
