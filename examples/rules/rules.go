// Package rules shows how a compliance team keeps its verification ladder in
// a JSON file and unit-tests it with no server and no database: see
// rules_test.go. Run it with
//
//	go test ./examples/rules
//
// The ladder here is the demo's (the verification status API's example): Level 0 (nothing), Level 1 (isBusiness,
// emailCode, nationality) and Level 2 (AMLD5Questions, idDocument,
// verificationFlag).
package rules

import (
	"bytes"
	_ "embed"

	"github.com/openkyc/kyc/levels"
)

//go:embed ladder.json
var ladderJSON []byte

// Ladder loads the team's ladder from the embedded ladder.json.
func Ladder() (*levels.Ladder, error) { return levels.Load(bytes.NewReader(ladderJSON)) }
