package httpadapter

import (
	"cmp"
	"slices"

	"github.com/openkyc/kyc/verification"
)

// The catalog codes the adapter owns: the verification status API's authentication codes
// (ER700-ER704, ER800-ER806), its general error (ER999), and the extension
// codes of request failures the seeds' routes do not document (ER710-ER719,
// continuing the verification status API's ER7xx range in the same shape). The domain's codes
// (ER705-ER709) are verification's.
const (
	CodeUserTokenNotFound      verification.Code = "ER700"
	CodeUserTokenExpired       verification.Code = "ER701"
	CodeUserTokenInvalid       verification.Code = "ER702"
	CodeIdentifierNotTokenUser verification.Code = "ER703"
	CodeIdentifierMissing      verification.Code = "ER704"
	CodeTokenInvalid           verification.Code = "ER800"
	CodeTokenExpired           verification.Code = "ER801"
	CodeTokenNotFound          verification.Code = "ER802"
	CodeMultipleAuthMethods    verification.Code = "ER803"
	CodeAPIKeyInvalid          verification.Code = "ER805"
	CodeAPIKeyNotFound         verification.Code = "ER806"
	CodeGeneral                verification.Code = "ER999"

	CodeInvalidRequest    verification.Code = "ER710"
	CodeNotFound          verification.Code = "ER711"
	CodeConflict          verification.Code = "ER712"
	CodeForbidden         verification.Code = "ER713"
	CodeAttemptsExhausted verification.Code = "ER714"
	CodeExpired           verification.Code = "ER715"
	CodeTooLarge          verification.Code = "ER716"
	CodeUnsupportedMedia  verification.Code = "ER717"
	CodeIdempotencyReuse  verification.Code = "ER718"
	CodeUploadQuota       verification.Code = "ER719"
)

// httpCatalog holds the texts of the adapter's codes: the verification status API's exact
// texts for its codes, this library's for the extensions.
var httpCatalog = []verification.CatalogEntry{
	{Code: CodeUserTokenNotFound, Message: "User authorization token not found.", Solution: "Provide a user authorization token."},
	{Code: CodeUserTokenExpired, Message: "User authorization token has expired.", Solution: "Request a new authorization token, or refresh the token."},
	{Code: CodeUserTokenInvalid, Message: "User authorization token is invalid.", Solution: "Provide a valid user authorization token."},
	{Code: CodeIdentifierNotTokenUser, Message: "User identifier does not belong to the user in the user authorization token.", Solution: "Provide a valid user identifier, or remove the user identifier header."},
	{Code: CodeIdentifierMissing, Message: "No user identifier found in headers.", Solution: "Provide a valid user identifier, or use the user/password authentication mechanism to request a user token and send that."},
	{Code: CodeTokenInvalid, Message: "Authorization token is invalid.", Solution: "Provide a valid authorization token."},
	{Code: CodeTokenExpired, Message: "Authorization token has expired.", Solution: "Request a new authorization token."},
	{Code: CodeTokenNotFound, Message: "Authorization token not found.", Solution: "Provide an authorization token."},
	{Code: CodeMultipleAuthMethods, Message: "Multiple authorization methods used.", Solution: "Use exactly one authorization method."},
	{Code: CodeAPIKeyInvalid, Message: "API key is invalid.", Solution: "Provide a valid API key."},
	{Code: CodeAPIKeyNotFound, Message: "API key not found.", Solution: "Provide an API key."},
	{Code: CodeGeneral, Message: "A general error has occurred. Please contact our support team.", Solution: "Contact our support team."},

	{Code: CodeInvalidRequest, Message: "The request is invalid.", Solution: "Correct the parameter or field named in the message and retry."},
	{Code: CodeNotFound, Message: "The requested resource was not found.", Solution: "Check the identifier in the request."},
	{Code: CodeConflict, Message: "The request conflicts with the current state.", Solution: "Fetch the current state, then retry if the change still applies."},
	{Code: CodeForbidden, Message: "The operation is not permitted with these credentials.", Solution: "Use credentials that carry the required permission."},
	{Code: CodeAttemptsExhausted, Message: "No further attempts are allowed for this requirement.", Solution: "Contact our support team to have the requirement reviewed or reset."},
	{Code: CodeExpired, Message: "The verification procedure has expired.", Solution: "Start a new verification procedure."},
	{Code: CodeTooLarge, Message: "The request or file is too large.", Solution: "Send a smaller request or file."},
	{Code: CodeUnsupportedMedia, Message: "The file type is not supported.", Solution: "Upload a JPEG, PNG or PDF file."},
	{Code: CodeIdempotencyReuse, Message: "The Idempotency-Key was already used with a different request.", Solution: "Use a new Idempotency-Key for a new request."},
	{Code: CodeUploadQuota, Message: "Too many files are uploaded and not yet submitted.", Solution: "Submit the files already uploaded, or wait for unsubmitted uploads to expire, then upload again."},
}

// catalog is every code the /api/v2 dialect answers, the core's and the
// adapter's, in code order.
var catalog = func() []verification.CatalogEntry {
	all := slices.Concat(verification.Catalog, httpCatalog)
	slices.SortFunc(all, func(a, b verification.CatalogEntry) int { return cmp.Compare(a.Code, b.Code) })
	for i := 1; i < len(all); i++ {
		if all[i].Code == all[i-1].Code {
			panic("httpadapter: duplicate catalog code " + string(all[i].Code))
		}
	}
	return all
}()

// Catalog returns every entry the /api/v2 dialect answers with, in code
// order: the verification status API's catalog (the domain's codes of verification.Catalog
// and the adapter's authentication codes) and the extension codes
// ER710-ER719.
func Catalog() []verification.CatalogEntry { return slices.Clone(catalog) }

// entry returns c's catalog entry; an unknown code yields ER999's.
func entry(c verification.Code) verification.CatalogEntry {
	if i, ok := slices.BinarySearchFunc(catalog, c, func(e verification.CatalogEntry, c verification.Code) int { return cmp.Compare(e.Code, c) }); ok {
		return catalog[i]
	}
	return entry(CodeGeneral)
}
