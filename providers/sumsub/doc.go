// Package sumsub is the Sumsub adapter: applicants and WebSDK links out,
// user verification webhooks in. It is written from Sumsub's public
// documentation (docs.sumsub.com: "Webhooks", "User verification
// webhooks", "Webhook manager" / "Verify webhook sender", "Receive results
// via API", "Authentication", "Generate external WebSDK link") and uses the
// standard library only.
//
// # Signatures
//
// Each webhook carries X-Payload-Digest, the hex HMAC of the raw body
// under the webhook's secret key, and X-Payload-Digest-Alg naming the
// hash: HMAC_SHA1_HEX, HMAC_SHA256_HEX (the default, also when the header
// is absent) or HMAC_SHA512_HEX. Verify refuses any other value and
// compares in constant time over the bytes received. API calls are signed
// with X-App-Token, X-App-Access-Ts (Unix seconds, from Config.Now) and
// X-App-Access-Sig = hex HMAC-SHA256 of ts + METHOD + URI + body under the
// app token's secret key (AccessSignature).
//
// # Decisions
//
// Webhooks carry type, applicantId, inspectionId, correlationId,
// externalUserId, reviewStatus, reviewResult{reviewAnswer, rejectLabels,
// reviewRejectType, moderationComment, clientComment} and createdAtMs
// ("2020-02-21 13:23:19.321", UTC). Parse maps:
//
//	applicantCreated, applicantReset         started                 not final
//	applicantPending                         submitted               not final
//	applicantOnHold                          review                  not final
//	applicantReviewed / WorkflowCompleted:
//	  GREEN                                  approved                final
//	  RED + RETRY                            resubmission_requested  not final
//	  RED + FINAL (or no reject type)        declined                final
//
// with SessionID = applicantId, SubjectRef = externalUserId, ReasonCodes =
// rejectLabels and Reason = moderationComment (the text meant for the
// applicant; clientComment may hold private notes and is never carried),
// OccurredAt = createdAtMs (createdAt when absent). Other types (tags,
// personal info, levels, applicant actions, video ident, activation,
// deletion) give no decision. Sumsub sends no event id and "may send
// several final webhooks"; each is its own event, ordered by createdAtMs:
//
//	EventKey = DeriveEventKey("sumsub", type, applicantId, inspectionId, correlationId, createdAtMs, reviewStatus, reviewAnswer, reviewRejectType)
//
// Sumsub times a delivery out after 5 s and retries after 5 min, 1 h, 5 h
// and 18 h: acknowledge fast.
//
// # Sessions
//
// StartSession creates the applicant in Config.LevelName (POST
// /resources/applicants?levelName=..., externalUserId = the subject's
// external identifier; an existing one is found with GET
// /resources/applicants/-;externalUserId=.../one) and a WebSDK link for it
// (POST /resources/sdkIntegrations/levels/-/websdkLink). Session.ID is the
// applicant id. Calls retry timeouts, 5xx and 429 a bounded number of
// times (providers.HTTPOptions), each attempt signed with its own time.
package sumsub
