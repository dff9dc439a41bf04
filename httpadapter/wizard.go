package httpadapter

import (
	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/verification"
)

// documentTypeJSON is the wizard's Document Type object.
type documentTypeJSON struct {
	ID          int               `json:"id"`
	Description string            `json:"description"`
	Enabled     bool              `json:"enabled"`
	Example     string            `json:"example"`
	Group       map[string]string `json:"group"`
}

func toDocumentTypeJSON(t documents.Type) documentTypeJSON {
	g := t.Group
	if g == nil {
		g = map[string]string{}
	}
	return documentTypeJSON{ID: t.ID, Description: t.Description, Enabled: t.Enabled, Example: t.Example, Group: g}
}

// wizardJSON is the wizard's answer; D is the data object's type.
type wizardJSON[D any] struct {
	Code     int    `json:"code"`
	Data     *D     `json:"data"`
	Done     bool   `json:"done"`
	UUID     string `json:"uuid"`
	Workflow string `json:"workflow"`
}

// wizardTypes is the initialising answer's data: the document types the
// next step accepts. The wizard's documented example is not valid JSON ("data": [
// "types": {...} ]); its field table says data is an object or null, and
// the run answer's data is {"types": [...]}: so data is {"types": [Document
// Type objects]}, or null when the next step needs no document.
type wizardTypes struct {
	Types []documentTypeJSON `json:"types"`
}

// wizardSubmitted is the run answer's data: the names of the document
// types submitted in this wizard so far ("passport"), in submission order.
type wizardSubmitted struct {
	Types []string `json:"types"`
}

// serveWizard: initialise (or resume) the caller's wizard.
func (a *Adapter) serveWizard(c *call) error {
	if _, err := parseQuery(c.r.URL.RawQuery); err != nil {
		return err
	}
	step, err := a.initWizard(c)
	if err != nil {
		return err
	}
	out := wizardJSON[wizardTypes]{Code: a.codes.code(step), Done: step.Done(), UUID: step.UUID, Workflow: a.stages.name(step.Stage)}
	if len(step.Types) > 0 {
		d := wizardTypes{Types: make([]documentTypeJSON, 0, len(step.Types))}
		for _, t := range step.Types {
			d.Types = append(d.Types, toDocumentTypeJSON(t))
		}
		out.Data = &d
	}
	c.writePooled(200, func(b []byte) []byte { return appendWizard(b, out) })
	return nil
}

// initWizard resumes the caller's wizard: with an API key by its
// X-User-Identifier in one store round trip (InitWizardByIdentifier)
// rather than the subject's lookup then its progress.
func (a *Adapter) initWizard(c *call) (verification.WizardStep, error) {
	if c.principal.Credential != APIKey {
		id, err := c.actor()
		if err != nil {
			return verification.WizardStep{}, err
		}
		return a.svc.InitWizard(c.ctx, id)
	}
	ident, err := c.apiKeyIdentifier()
	if err != nil {
		return verification.WizardStep{}, err
	}
	step, err := a.svc.InitWizardByIdentifier(c.ctx, ident)
	if err != nil {
		return verification.WizardStep{}, err
	}
	c.subjectID = step.SubjectID
	return step, nil
}

// runWizardBody is the wizard's POST body: its curl example wraps the
// documented fields (documents, uuid) in "data".
type runWizardBody struct {
	Data *runWizardData `json:"data" validate:"required"`
}

type runWizardData struct {
	Documents *runWizardDocuments `json:"documents" validate:"required"`
	UUID      string              `json:"uuid" validate:"required,max=64"`
}

type runWizardDocuments struct {
	// Type is the document type's id.
	Type int `json:"type" validate:"required,gt=0"`
	// Files are file ids from RouteUpload, one per side, in the type's
	// side order.
	Files []string `json:"files" validate:"required,min=1,max=8,dive,required,max=128"`
}

// serveRunWizard: submit the documents of the wizard's step.
func (a *Adapter) serveRunWizard(c *call) error {
	if _, err := parseQuery(c.r.URL.RawQuery); err != nil {
		return err
	}
	raw, err := c.readBody(a.maxB)
	if err != nil {
		return err
	}
	var body runWizardBody
	if err := decodeJSON(raw, &body); err != nil {
		return err
	}
	id, err := c.actor()
	if err != nil {
		return err
	}
	return c.idempotent(fingerprint(raw), func() error {
		step, err := a.svc.RunWizard(c.ctx, verification.RunWizardParams{
			SubjectID: id, UUID: body.Data.UUID, DocumentType: body.Data.Documents.Type, Files: body.Data.Documents.Files,
		})
		if err != nil {
			return err
		}
		d := wizardSubmitted{Types: []string{}}
		seen := map[int]bool{}
		for _, s := range step.Application.Steps {
			if seen[s.DocumentType] {
				continue
			}
			seen[s.DocumentType] = true
			if t, ok := a.svc.Ladder().DocumentType(s.DocumentType); ok {
				d.Types = append(d.Types, t.Name)
			}
		}
		c.json(200, wizardJSON[wizardSubmitted]{Code: a.codes.code(step), Data: &d, Done: step.Done(), UUID: step.UUID, Workflow: a.stages.name(step.Stage)})
		return nil
	})
}
