package listscreen_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/openkyc/kyc/screening"
	"github.com/openkyc/kyc/screening/listscreen"
)

// Loading a list and screening people against it.
func ExampleLoad() {
	const file = `# a made-up list
id,name,aliases,birth_date,country,programme
P-1,José Ñandúbay Quirós,Pepe Quiros,1971-03-14,CO,DEMO-PEP
P-2,Teodor Brankovič,,1961-04-12,RS,DEMO-SANCTIONS
P-3,Teodor Brankovič,,1979-09-30,ME,DEMO-SANCTIONS
`
	list, err := listscreen.Load(strings.NewReader(file), listscreen.Options{Name: "demo"})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for _, q := range []screening.Query{
		{FullName: "QUIROS, Jose Nandubay"},
		{FullName: "Teodor Brankovic"},
		{FullName: "Teodor Brankovic", BirthDate: time.Date(1979, 9, 30, 0, 0, 0, 0, time.UTC)},
		{FullName: "Teodora Quintero"},
	} {
		res, err := list.Screen(ctx, q)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: %s", q.FullName, screening.Decide(res, screening.DefaultThreshold))
		for _, h := range res.Hits {
			fmt.Printf(" %s %.2f", h.Key(), h.Score)
		}
		fmt.Println()
	}
	// Output:
	// QUIROS, Jose Nandubay: needs_review demo/P-1 1.00
	// Teodor Brankovic: needs_review demo/P-2 1.00 demo/P-3 1.00
	// Teodor Brankovic: needs_review demo/P-3 1.00
	// Teodora Quintero: clear
}

// A malformed line is reported with its number, and nothing is loaded.
func ExampleParseError() {
	const file = "name,aliases,birth_date,country,programme\nAda Quill,,1980-01-02,GB,X\nIda Quell,,02/01/1980,GB,X\n"
	_, err := listscreen.Load(strings.NewReader(file), listscreen.Options{})
	fmt.Println(err)
	// Output:
	// listscreen: line 3: column birth_date: "02/01/1980" is not a date in the form YYYY-MM-DD
}

// Normalize is what both sides of a comparison go through.
func ExampleNormalize() {
	fmt.Println(listscreen.Normalize("  GARCÍA-Márquez, José "))
	fmt.Println(listscreen.Normalize("Søren O'Neil-Straße"))
	// Output:
	// garcia marquez jose
	// soren oneil strasse
}
