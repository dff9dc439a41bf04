package httpadapter

import (
	"crypto/sha256"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/verification"
)

// Multipart field names of RouteUpload, in the order they must come.
const (
	FieldDocumentType = "documentType"
	FieldSide         = "side"
	FieldFile         = "file"
)

// maxFieldBytes bounds the documentType and side form fields.
const maxFieldBytes = 64

// maxPreambleBytes bounds everything an upload sends before the file's
// bytes: the preamble, the fields and every part's headers, together.
// mime/multipart alone accepts 10 MiB of headers per part and holds them in
// memory, so 32 hostile requests could take hundreds of MiB.
const maxPreambleBytes = 64 << 10

// errTrailingPart: the form continues after the file part.
var errTrailingPart = errors.New("httpadapter: multipart form continues after the file part")

// uploadFields are RouteUpload's form fields.
type uploadFields struct {
	DocumentType string `json:"documentType" validate:"required,max=64,printascii"`
	Side         string `json:"side" validate:"required,max=64,printascii"`
}

// fileJSON is RouteUpload's answer.
type fileJSON struct {
	ID           string `json:"id"`
	DocumentType string `json:"documentType"`
	Side         string `json:"side"`
	ContentType  string `json:"contentType"`
	Size         int64  `json:"size"`
	CreateTime   string `json:"createTime"`
}

// partReader reads the file part and, at its end, checks that the form
// ends too, so that a refused form never stores a file. err keeps the
// first failure of the request body (not of the consumer).
type partReader struct {
	part *multipart.Part
	mr   *multipart.Reader
	err  error
	eof  bool
}

func (p *partReader) Read(b []byte) (int, error) {
	if p.eof {
		return 0, io.EOF
	}
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.part.Read(b)
	if err == io.EOF {
		if _, nerr := p.mr.NextPart(); nerr != io.EOF {
			if nerr == nil {
				nerr = errTrailingPart
			}
			p.err = nerr
			return n, nerr
		}
		p.eof = true
		return n, io.EOF
	}
	if err != nil {
		p.err = err
	}
	return n, err
}

// preambleReader caps the bytes read from an upload until lift is called
// (once the file part has begun). multipart.Reader reads ahead by up to
// 4 KiB, so a few bytes of the file may count against the cap.
type preambleReader struct {
	r    io.Reader
	left int64 // bytes still allowed; negative once lifted
	over bool  // the cap was hit
}

func (p *preambleReader) Read(b []byte) (int, error) {
	if p.left < 0 {
		return p.r.Read(b)
	}
	if p.left == 0 {
		p.over = true
		return 0, errPreambleTooLarge
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	n, err := p.r.Read(b)
	p.left -= int64(n)
	return n, err
}

// lift removes the cap.
func (p *preambleReader) lift() { p.left = -1 }

// errPreambleTooLarge: more than maxPreambleBytes before the file part.
var errPreambleTooLarge = errors.New("httpadapter: multipart fields and part headers over the limit")

// preambleProblem is the 413 for a form over maxPreambleBytes before its file.
func preambleProblem() error {
	return &problem{kind: pTooLarge, detail: "the form fields and part headers before the file must be at most " +
		strconv.Itoa(maxPreambleBytes) + " bytes"}
}

// bodyProblem words a failure to read a multipart request body.
func bodyProblem(err error, limit int64) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return &problem{kind: pTooLarge, detail: "the request must be at most " + strconv.FormatInt(limit, 10) + " bytes"}
	case errors.Is(err, errTrailingPart):
		return paramProblem(FieldFile, "must be the last part of the form")
	}
	return paramProblem("body", "is not valid multipart/form-data")
}

// readField reads a small form field.
func readField(p *multipart.Part, limit int64) (string, error) {
	if p.FileName() != "" {
		return "", paramProblem(p.FormName(), "must be a form field, not a file")
	}
	b, err := io.ReadAll(io.LimitReader(p, maxFieldBytes+1))
	if err != nil {
		return "", bodyProblem(err, limit)
	}
	if len(b) > maxFieldBytes {
		return "", paramProblem(p.FormName(), "must have at most %d characters", maxFieldBytes)
	}
	return string(b), nil
}

// serveUpload: extension, upload one document image as multipart/form-data
// with the fields documentType, side and file, in that order. The file is
// streamed from the request into the BlobStore (never parsed into memory
// or temporary files by the adapter); its content is checked by magic
// bytes in the Service. Answers 201 with the file id to use in the wizard.
func (a *Adapter) serveUpload(c *call) error {
	if _, err := parseQuery(c.r.URL.RawQuery); err != nil {
		return err
	}
	mt, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return paramProblem("Content-Type", "must be multipart/form-data with a boundary")
	}
	if c.r.ContentLength > a.maxU {
		return bodyProblem(&http.MaxBytesError{Limit: a.maxU}, a.maxU)
	}
	pre := &preambleReader{r: http.MaxBytesReader(c.w, c.r.Body, a.maxU), left: maxPreambleBytes}
	mr := multipart.NewReader(pre, params["boundary"])
	// refuse turns a failure caused by the cap into its 413.
	refuse := func(err error) error {
		if pre.over {
			return preambleProblem()
		}
		return err
	}
	var fields uploadFields
	seen := map[string]bool{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return paramProblem(FieldFile, "is required")
		}
		if err != nil {
			return refuse(bodyProblem(err, a.maxU))
		}
		name := p.FormName()
		if seen[name] {
			return paramProblem(clipParam(name), "must be given once")
		}
		seen[name] = true
		switch name {
		case FieldDocumentType:
			if fields.DocumentType, err = readField(p, a.maxU); err != nil {
				return refuse(err)
			}
		case FieldSide:
			if fields.Side, err = readField(p, a.maxU); err != nil {
				return refuse(err)
			}
		case FieldFile:
			if err := validateStruct(&fields); err != nil {
				return err
			}
			pre.lift()
			return a.upload(c, fields, &partReader{part: p, mr: mr})
		default:
			return unknownParam(clipParam(name))
		}
	}
}

// upload streams the file part into Service.Upload, under the request's
// Idempotency-Key if any. The fingerprint of an upload is its fields and
// the SHA-256 of its bytes, known only once streamed: the key is reserved
// with a placeholder and re-keyed with the real fingerprint on completion.
func (a *Adapter) upload(c *call, fields uploadFields, pr *partReader) error {
	id, err := c.actor()
	if err != nil {
		return err
	}
	h := sha256.New()
	fp := func() (string, bool) {
		// Drain what the Service did not read (a refusal before the bytes),
		// so that the fingerprint covers the whole file.
		if _, err := io.Copy(h, pr); err != nil {
			return "", false
		}
		return fingerprint([]byte(fields.DocumentType), []byte(fields.Side), h.Sum(nil)), true
	}
	run := func() error {
		f, err := a.svc.Upload(c.ctx, verification.UploadParams{
			SubjectID: id, DocumentType: fields.DocumentType, Side: fields.Side, Body: io.TeeReader(pr, h),
		})
		if err != nil {
			if pr.err != nil {
				return bodyProblem(pr.err, a.maxU)
			}
			return err
		}
		c.json(http.StatusCreated, fileJSON{
			ID: f.ID, DocumentType: f.DocumentType, Side: f.Side, ContentType: f.ContentType, Size: f.Size, CreateTime: formatV2(f.CreatedAt),
		})
		return nil
	}
	res, err := c.reserve(placeholderFingerprint())
	var ic *idemConflict
	switch {
	case errors.As(err, &ic):
		if ic.old.Status == 0 {
			return &problem{kind: pIdempotencyInProgress}
		}
		got, ok := fp()
		if !ok {
			return bodyProblem(pr.err, a.maxU)
		}
		return c.replayOrRefuse(ic.old, got)
	case err != nil:
		return err
	case res == nil:
		return run()
	}
	return res.run(run, fp)
}

// serveFile: extension, a document image through a URL signed by
// Options.Signer (as identity verification hands out); no other credential is needed.
func (a *Adapter) serveFile(c *call) error {
	if err := a.verifySigned(c); err != nil {
		return err
	}
	id := c.r.PathValue("fileId")
	if !validFileID(id) {
		return newProblem(pNotFound)
	}
	return a.streamFile(c, verification.SystemActor(), id)
}

// serveAdminFile: extension (admin), a document image for review; a file
// the Service does not let the admin see is 404 like an absent one.
func (a *Adapter) serveAdminFile(c *call) error {
	if _, err := parseQuery(c.r.URL.RawQuery); err != nil {
		return err
	}
	id := c.r.PathValue("fileId")
	if !validFileID(id) {
		return newProblem(pNotFound)
	}
	return a.streamFile(c, c.admin(), id)
}

// servedTypes are the content types files are served with; anything else
// is served as application/octet-stream.
var servedTypes = map[string]bool{string(documents.JPEG): true, string(documents.PNG): true, string(documents.PDF): true}

// streamFile copies a file the actor may see to the response. HEAD reads
// only the metadata: no bytes are read, so no document view is audited.
func (a *Adapter) streamFile(c *call, actor verification.Actor, id string) error {
	var (
		f   verification.File
		rc  io.ReadCloser
		err error
	)
	if c.r.Method == http.MethodHead {
		f, err = a.svc.File(c.ctx, actor, id)
	} else {
		f, rc, err = a.svc.OpenFile(c.ctx, actor, id)
	}
	if err != nil {
		return err
	}
	if rc != nil {
		defer rc.Close()
	}
	ct := f.ContentType
	if !servedTypes[ct] {
		ct = "application/octet-stream"
	}
	h := c.w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Content-Disposition", "inline")
	c.w.WriteHeader(http.StatusOK)
	if c.r.Method == http.MethodHead {
		return nil
	}
	if _, err := io.Copy(c.w, rc); err != nil {
		// Too late for an error status: the short body (against
		// Content-Length) tells the client.
		c.a.log.Error().Err(err).Str("route", c.pattern).Msg("httpadapter: streaming a file")
	}
	return nil
}
