// Command proxygen validates proxy specs and generates Go routing code: its
// commands are generate, check, validate, explain, schema and version (see
// the usage text in run.go, one file per command). It is the one place that
// reads specs from disk and writes generated files (atomically, and only when
// they changed). It must hold no spec rule of its own (package schema does)
// and no generation logic (package gen does), and it must never print a
// credential: errors, check's diffs and explain's output are redacted.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
