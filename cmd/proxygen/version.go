package main

import (
	"runtime/debug"
	"strings"
)

// version returns the module version from the build information, else
// "(devel)" with the VCS revision when known.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			return "(devel) " + strings.TrimSpace(s.Value)
		}
	}
	return "(devel)"
}
