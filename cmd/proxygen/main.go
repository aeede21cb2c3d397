// Command proxygen validates proxy specs and generates Go routing code.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
