//go:build race

package sqlite_test

// raceEnabled reports a -race build: the race detector instruments SQLite
// itself (modernc.org/sqlite is Go), which makes bulk loads ten times slower.
const raceEnabled = true
