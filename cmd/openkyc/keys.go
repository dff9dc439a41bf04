package main

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"strings"
	"time"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/verification"
)

// keysCmd groups the key generators. They print configuration in the form
// examples/hostapp reads (HOSTAPP_URL_SIGNING_KEYS, HOSTAPP_MASTER_KEYS:
// comma-separated id:base64 entries, oldest first) and store nothing: put
// the output in your secret store, never in a file of the repository.
type keysCmd struct {
	NewSigning keysNewCmd    `cmd:"" name:"new-signing" help:"Generate a URL signing key (documents.SigningKey)."`
	NewMaster  keysNewCmd    `cmd:"" name:"new-master" help:"Generate a master key (documents.MasterKey) wrapping the data keys."`
	Rewrap     keysRewrapCmd `cmd:"" help:"Rewrap every subject's data key with the current master key of OPENKYC_MASTER_KEYS (the HOSTAPP_MASTER_KEYS value, new key last), after deploying it everywhere."`
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
		v.Next = "deploy this value on every replica (the new key wraps new data keys), then run openkyc keys rewrap with OPENKYC_MASTER_KEYS set to this value, then drop the old keys"
	}
	return e.out.emit(v)
}

// keysRewrapCmd rewraps the data keys with the current master key.
type keysRewrapCmd struct{}

// Run implements the command.
func (keysRewrapCmd) Run(e *env) error {
	if err := e.mutating("keys rewrap"); err != nil {
		return err
	}
	if os.Getenv(masterKeysEnv) == "" {
		return usageErr("keys rewrap needs the deployment's master keys: set %s to the HOSTAPP_MASTER_KEYS value (id:base64,... oldest first, the new current key last)", masterKeysEnv)
	}
	svc, st, err := e.service("keys rewrap", false, verification.Options{})
	if err != nil {
		return err
	}
	defer st.close()
	rep, err := svc.RewrapKeys(e.ctx, e.actor())
	if err != nil {
		return err
	}
	return e.out.emit(struct {
		CurrentKey string `json:"currentKey"`
		Rewrapped  int    `json:"rewrapped"`
		Current    int    `json:"current"`
		Next       string `json:"next"`
	}{rep.CurrentKeyID, rep.Rewrapped, rep.Current, "every data key is wrapped by " + rep.CurrentKeyID + ": the older keys can be dropped from the list"})
}
