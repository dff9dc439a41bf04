package screening_test

import (
	"context"
	"fmt"
	"time"

	"github.com/openkyc/kyc/screening"
)

// A screener answers with hits; Decide applies the threshold.
func ExampleDecide() {
	res := screening.Result{Hits: []screening.Hit{
		{List: "pep", EntityID: "17", Name: "Ada QUILL", Score: 0.93, Programmes: []string{"PEP"}},
		{List: "pep", EntityID: "4", Name: "Ida Quell", Score: 0.81},
	}}
	fmt.Println(screening.Decide(res, screening.DefaultThreshold))
	for _, h := range res.Above(screening.DefaultThreshold) {
		fmt.Println(h.Key(), h.Name, h.Programmes)
	}
	fmt.Println(screening.Decide(screening.Result{}, screening.DefaultThreshold))
	// Output:
	// needs_review
	// pep/17 Ada QUILL [PEP]
	// clear
}

// Run validates the query, calls the screener, sorts the hits and stamps the
// caller's time.
func ExampleRun() {
	screener := screening.ScreenerFunc(func(ctx context.Context, q screening.Query) (screening.Result, error) {
		return screening.Result{ListVersion: "sha256:ab12", Hits: []screening.Hit{
			{List: "demo", EntityID: "2", Name: "Ada Quil", Score: 0.91},
			{List: "demo", EntityID: "1", Name: "Ada Quill", Score: 1},
		}}, nil
	})
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	res, err := screening.Run(context.Background(), screener, screening.Query{FullName: "Ada Quill", Country: "GB"}, now)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, h := range res.Hits {
		fmt.Printf("%s %.2f\n", h.Key(), h.Score)
	}
	fmt.Println(res.ListVersion, res.ScreenedAt.Format(time.RFC3339))

	_, err = screening.Run(context.Background(), screener, screening.Query{FullName: "Ada Quill", Country: "GBR"}, now)
	fmt.Println(err)
	// Output:
	// demo/1 1.00
	// demo/2 0.91
	// sha256:ab12 2026-12-01T09:00:00Z
	// screening: invalid query: country must be an ISO 3166-1 alpha-2 code
}
