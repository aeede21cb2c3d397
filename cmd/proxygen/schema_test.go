package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/proxygen-go/proxygen/schema"
)

// schema -o FILE writes the schema an editor's modeline can name, and
// leaves an unchanged file alone.
func TestSchemaOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "proxygen.schema.json")
	code, stdout, stderr := runCLI(t, "schema", "-o", path)
	if code != exitOK || stdout != "" || stderr != "" {
		t.Fatalf("schema -o: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, schema.JSON()) {
		t.Fatal("schema -o wrote something else than the schema")
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "schema", "-o", path); code != exitOK {
		t.Fatalf("second schema -o: exit %d, stderr %q", code, stderr)
	}
	if fi, err := os.Stat(path); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("second schema -o rewrote an unchanged file (%v)", err)
	}
	if code, _, stderr := runCLI(t, "schema", "-o", filepath.Join(t.TempDir(), "no", "dir", "s.json")); code != exitUsage || stderr == "" {
		t.Errorf("schema -o into a missing folder: exit %d, stderr %q", code, stderr)
	}
}
