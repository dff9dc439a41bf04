package httpadapter

import (
	_ "embed"
	"encoding/json"
	"net/http"
)

// openAPI is the OpenAPI 3.1 description of every route (paths without
// the mount prefix).
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the embedded OpenAPI 3.1 description (a copy).
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// serveOpenAPI serves the description with "servers" set to the mount
// point (BaseURL + prefix).
func (a *Adapter) serveOpenAPI(c *call) error {
	if _, err := parseQuery(c.r.URL.RawQuery); err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		return internalProblem(err)
	}
	server := a.base + c.mountPath()
	if server == "" {
		server = "/"
	}
	doc["servers"] = []map[string]string{{"url": server}}
	c.json(http.StatusOK, doc)
	return nil
}
