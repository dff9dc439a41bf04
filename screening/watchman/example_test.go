package watchman_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/openkyc/kyc/screening"
	"github.com/openkyc/kyc/screening/watchman"
)

// Screening a person against a Watchman (here a stand-in serving recorded
// answers).
func ExampleClient_Screen() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		file := map[string]string{"/v2/listinfo": "testdata/listinfo.json", "/v2/search": "testdata/search_hits.json"}[r.URL.Path]
		body, _ := os.ReadFile(file)
		_, _ = w.Write(body)
	}))
	defer srv.Close()

	client, err := watchman.New(watchman.Options{BaseURL: srv.URL})
	if err != nil {
		fmt.Println(err)
		return
	}
	q := screening.Query{FullName: "Orlando Veskari", BirthDate: time.Date(1968, 5, 17, 0, 0, 0, 0, time.UTC)}
	res, err := screening.Run(context.Background(), client, q, time.Now())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, h := range res.Hits {
		fmt.Printf("%s %s %.2f %v\n", h.Key(), h.Name, h.Score, h.Programmes)
	}
	fmt.Println(screening.Decide(res, 0.90))
	// Output:
	// us_ofac/90417 Orlando VESKARI TREMAINE 0.93 [SDGT IRGC]
	// eu_csl/EU.9031.44 Orla VESKARI 0.81 []
	// needs_review
}
