package runtime

// UnregisterTableForTest forgets the table of RegisterTable.
func UnregisterTableForTest() { registered.Store(nil) }
