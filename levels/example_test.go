package levels_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/levels"
)

// The demo ladder (the verification status API's example) written in Go:
// the same content as testdata/seed000.json.
func ExampleNew() {
	passport := documents.Type{
		ID: 2, Name: "passport", Description: "Passport", Enabled: true,
		Group: map[string]string{}, Sides: []string{"front", "back"},
	}
	options := []string{"answer1", "answer2", "answer3"}
	ladder, err := levels.New([]levels.Level{
		// The first level is where every subject starts: no requirements.
		{ID: 1, Name: "Level 0"},
		{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{
			{Name: "isBusiness", Type: levels.Boolean},
			{Name: "emailCode", Type: levels.String, Rule: "required,numeric,len=6", Review: true},
			{Name: "nationality", Type: levels.Choice, Choices: map[string]string{"Netherlands": "NL", "German": "DE"}},
		}},
		{ID: 3, Name: "Level 2", Requirements: []levels.Requirement{
			{Name: "AMLD5Questions", Type: levels.Question, Questions: []levels.QuestionItem{
				{Key: "Question1", Label: "This is the actual question 1?", AnswerOptions: options},
				{Key: "Question2", Label: "This is the actual question 2?", AnswerOptions: options},
			}},
			{Name: "idDocument", Type: levels.Document, DocumentTypes: []string{"passport"}, Review: true},
			{Name: "verificationFlag", Type: levels.Boolean, SetBy: levels.SetByHost},
		}},
	}, passport)
	if err != nil {
		log.Fatal(err)
	}

	for _, lv := range ladder.Levels() {
		fmt.Printf("%d %s:", lv.ID, lv.Name)
		for _, r := range lv.Requirements {
			fmt.Printf(" %s(%s)", r.Name, r.Type)
		}
		fmt.Println()
	}
	fmt.Println("starts at", ladder.First().Name, "- top is", ladder.Top().Name)
	// Output:
	// 1 Level 0:
	// 2 Level 1: isBusiness(boolean) emailCode(string) nationality(choice)
	// 3 Level 2: AMLD5Questions(question) idDocument(document) verificationFlag(boolean)
	// starts at Level 0 - top is Level 2
}

// New and Load name the field they refuse.
func ExampleNew_error() {
	_, err := levels.New([]levels.Level{
		{ID: 1, Name: "Level 0"},
		{ID: 2, Name: "Level 1", Requirements: []levels.Requirement{
			{Name: "nationality", Type: levels.Choice},
		}},
	})
	var fe *levels.FieldError
	if errors.As(err, &fe) {
		fmt.Println(fe.Field)
		fmt.Println(fe.Reason)
	}
	// Output:
	// levels[1].requirements[0].choices
	// must list at least one option
}

func ExampleLoad() {
	const ladderJSON = `{
	  "levels": [
	    {"id": 1, "name": "Level 0"},
	    {"id": 2, "name": "Level 1", "requirements": [
	      {"name": "isBusiness", "type": "boolean"},
	      {"name": "emailCode", "type": "string", "rule": "required,numeric,len=6", "review": true}
	    ]}
	  ]
	}`
	ladder, err := levels.Load(strings.NewReader(ladderJSON))
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range ladder.RequirementsUpTo(ladder.Top().ID) {
		fmt.Printf("%s %s %q\n", r.Name, r.Type, r.Rule)
	}

	// Unknown fields are refused.
	_, err = levels.Load(strings.NewReader(`{"levels": [{"id": 1, "name": "Level 0", "rank": 0}]}`))
	fmt.Println(err)
	// Output:
	// isBusiness boolean ""
	// emailCode string "required,numeric,len=6"
	// levels: decoding ladder: json: unknown field "rank"
}

func ExampleLadder_Evaluate() {
	ladder, err := levels.LoadFile("testdata/seed000.json")
	if err != nil {
		log.Fatal(err)
	}
	states := levels.States{
		"isBusiness":  levels.Approved,
		"emailCode":   levels.Approved,
		"nationality": levels.Approved,
		"idDocument":  levels.Pending,
	}

	// Target 0 is the top of the ladder, as on the verification status route.
	res := ladder.Evaluate(states, 0)
	fmt.Println("level:", res.Level.Name)
	for _, o := range res.Outstanding {
		fmt.Println(o.Name, o.Type, o.Status)
	}

	// Only the requirements of Level 1 (id 2) and below.
	res = ladder.Evaluate(states, 2)
	fmt.Println("verified for Level 1:", res.Verified())
	b, _ := json.Marshal(res.Outstanding)
	fmt.Println(string(b))
	// Output:
	// level: Level 1
	// AMLD5Questions question missing
	// idDocument document pending
	// verificationFlag boolean missing
	// verified for Level 1: true
	// []
}

func ExampleRequirement_Validate() {
	ladder, err := levels.LoadFile("testdata/seed000.json")
	if err != nil {
		log.Fatal(err)
	}
	answers := []struct {
		requirement string
		answer      string
	}{
		{"emailCode", `"123456"`},
		{"emailCode", `"12345"`},
		{"nationality", `"German"`},
		{"AMLD5Questions", `{"Question1": "answer1"}`},
		{"idDocument", `{"type": "passport", "files": {"front": "f_1", "back": "f_2"}}`},
		{"idDocument", `{"type": "passport", "files": {"front": "f_1"}}`},
	}
	for _, a := range answers {
		r, _ := ladder.Requirement(a.requirement)
		err := r.Validate(json.RawMessage(a.answer))
		var fe *levels.FieldError
		switch {
		case err == nil:
			fmt.Printf("%s %s: ok\n", a.requirement, a.answer)
		case errors.As(err, &fe):
			fmt.Printf("%s %s: %s %s\n", a.requirement, a.answer, fe.Field, fe.Reason)
		}
	}
	// Output:
	// emailCode "123456": ok
	// emailCode "12345": answer does not satisfy "required,numeric,len=6"
	// nationality "German": answer must be one of DE, NL
	// AMLD5Questions {"Question1": "answer1"}: answer.Question2 is required
	// idDocument {"type": "passport", "files": {"front": "f_1", "back": "f_2"}}: ok
	// idDocument {"type": "passport", "files": {"front": "f_1"}}: answer.files.back is required
}
