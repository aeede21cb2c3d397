package sample

// Do is a method of G declared outside gen.go.
func (g *G) Do() {}
