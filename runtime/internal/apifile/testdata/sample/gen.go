package sample

// G is for generated code only.
type G struct{ X int }

// NewG makes a G.
func NewG() *G { return &G{} }
