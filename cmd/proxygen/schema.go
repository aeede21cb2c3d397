package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/proxygen-go/proxygen/schema"
)

// schema prints the JSON Schema, or writes it to -o FILE (for an editor's
// modeline: # yaml-language-server: $schema=FILE).
func (c *cli) schema(args []string) int {
	fs := c.flags("schema")
	out := fs.String("o", "", "write the schema to this file (only if it changed) instead of stdout")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		return c.usageErr("schema takes no arguments")
	}
	if *out == "" {
		_, _ = c.stdout.Write(schema.JSON())
		return exitOK
	}
	if err := writeIfChanged(*out, schema.JSON()); err != nil {
		fmt.Fprintf(c.stderr, "proxygen: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// writeIfChanged writes data to path atomically unless the file already
// holds exactly data (an editor watching it sees no change).
func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	return writeAtomic(path, data)
}
