package main

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"time"

	"github.com/openkyc/kyc/documents"
)

// keysCmd groups the key generators. They print configuration in the form
// examples/hostapp reads (HOSTAPP_URL_SIGNING_KEYS, HOSTAPP_MASTER_KEYS:
// comma-separated id:base64 entries, oldest first) and store nothing: put
// the output in your secret store, never in a file of the repository.
type keysCmd struct {
	NewSigning keysNewCmd `cmd:"" name:"new-signing" help:"Generate a URL signing key (documents.SigningKey)."`
	NewMaster  keysNewCmd `cmd:"" name:"new-master" help:"Generate a master key (documents.MasterKey) wrapping the data keys."`
}

// keysNewCmd generates one key.
type keysNewCmd struct {
	ID      string `help:"The key's id (1 to 64 letters, digits, '-', '_', '.'); default today's date (UTC)."`
	Current string `help:"The deployment's current key list, to print the list that adds the new key."`
}

// keyView is a generated key.
type keyView struct {
	Variable string `json:"variable"`
	ID       string `json:"id"`
	Entry    string `json:"entry"`
	Value    string `json:"value"`
	Next     string `json:"next"`
}

// Run implements the command.
func (c keysNewCmd) Run(e *env) error {
	signing := e.command() == "keys new-signing"
	id := c.ID
	if id == "" {
		id = time.Now().UTC().Format("2006-01-02")
	}
	secret := make([]byte, documents.MasterKeySize)
	if _, err := rand.Read(secret); err != nil {
		return usageErr("drawing random bytes: %v", err)
	}
	// The documents package's own constructors check the id and the size.
	var err error
	if signing {
		_, err = documents.NewSigner([]documents.SigningKey{{ID: id, Secret: secret}}, documents.SignerOptions{})
	} else {
		_, err = documents.NewKeyring(documents.MasterKey{ID: id, Key: secret})
	}
	if err != nil {
		return usageErr("--id %q: %s", id, oneLine(err.Error()))
	}
	current := strings.TrimSpace(c.Current)
	if current != "" && strings.Contains(","+current, ","+id+":") {
		return usageErr("--id %q is already in the current list", id)
	}
	v := keyView{ID: id, Entry: id + ":" + base64.StdEncoding.EncodeToString(secret)}
	switch {
	case signing && current == "":
		v.Variable, v.Value = "HOSTAPP_URL_SIGNING_KEYS", v.Entry
		v.Next = "deploy this value on every replica"
	case signing:
		// The new key first: it verifies everywhere while the last active
		// key of the old list still signs (examples/hostapp's two roll-outs).
		v.Variable, v.Value = "HOSTAPP_URL_SIGNING_KEYS", v.Entry+","+current
		v.Next = "deploy this value on every replica; then move the new entry last and give the old active key a retired-at time (id:secret:RFC3339), and drop it an hour after that time"
	case current == "":
		v.Variable, v.Value = "HOSTAPP_MASTER_KEYS", v.Entry
		v.Next = "deploy this value on every replica"
	default:
		v.Variable, v.Value = "HOSTAPP_MASTER_KEYS", current+","+v.Entry
		v.Next = "deploy this value on every replica (the new key wraps new data keys), rewrap every subject's data key (documents.SealedStore.Rewrap), then drop the old keys"
	}
	return e.out.emit(v)
}
