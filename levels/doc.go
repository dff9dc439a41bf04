// Package levels holds the pure rules of a KYC verification ladder: the
// levels a subject can reach, the requirements each level lists, the
// validation of a subject's answers, and the evaluation of what a subject has
// earned and what is still outstanding.
//
// The package does no I/O beyond reading a ladder file ([Load], [LoadFile]), reads
// no clock and knows no store: the verification engine feeds it the statuses
// it keeps and serves its results on the wire. It can be unit-tested in
// isolation, and a host can test its own ladder the same way.
//
// # Ladders
//
// A [Ladder] is an ordered list of levels, lowest first, plus the document
// types its document requirements accept. Each [Level] has a positive ID (the
// id clients see on the wire, e.g. the verification history's currentLevel.id; IDs need not
// be consecutive), a unique Name ("Level 0", "Level 1", ...) and the
// requirements needed to reach it. Reaching level N needs every requirement
// of every level from the second up to N approved.
//
// The first level is where every subject starts ([Ladder.First]): it lists no
// requirements, and New refuses a ladder whose first level does. The last
// level is the top ([Ladder.Top]).
//
// Requirement names are unique across the whole ladder, so a subject's
// statuses can be kept in one map keyed by name ([States]).
//
// A Ladder is built by [New], which validates everything and returns a
// [*FieldError] naming the offending field (for example
// "levels[2].requirements[0].choices" or "documentTypes[0].sides"). New
// copies its input: changing the slices and maps passed to it afterwards does
// not change the ladder. A Ladder is immutable and safe for concurrent use.
// Accessors that return levels or document types return copies; accessors
// that return *Requirement share the ladder's value, which callers must treat
// as read-only.
//
// # The ladder file
//
// [Load] (and [LoadFile]) read the JSON form of a ladder, and [Ladder.MarshalJSON]
// writes the same form, so a ladder survives a Load / MarshalJSON / Load round
// trip unchanged. Unknown fields and trailing data are refused, and so is
// anything New refuses. This is the demo ladder, from the verification status API's example
// (testdata/seed000.json):
//
//	{
//	  "documentTypes": [
//	    {"id": 2, "name": "passport", "description": "Passport", "enabled": true,
//	     "example": "", "group": {}, "sides": ["front", "back"]}
//	  ],
//	  "levels": [
//	    {"id": 1, "name": "Level 0"},
//	    {"id": 2, "name": "Level 1", "requirements": [
//	      {"name": "isBusiness", "type": "boolean"},
//	      {"name": "emailCode", "type": "string", "rule": "required,numeric,len=6", "review": true},
//	      {"name": "nationality", "type": "choice", "choices": {"Netherlands": "NL", "German": "DE"}}
//	    ]},
//	    {"id": 3, "name": "Level 2", "requirements": [
//	      {"name": "AMLD5Questions", "type": "question", "questions": [
//	        {"key": "Question1", "label": "This is the actual question 1?",
//	         "answerOptions": ["answer1", "answer2", "answer3"]},
//	        {"key": "Question2", "label": "This is the actual question 2?",
//	         "answerOptions": ["answer1", "answer2", "answer3"]}
//	      ]},
//	      {"name": "idDocument", "type": "document", "documentTypes": ["passport"], "review": true},
//	      {"name": "verificationFlag", "type": "boolean", "setBy": "host"}
//	    ]}
//	  ]
//	}
//
// The fields of a requirement are:
//
//   - name: unique in the ladder; required.
//   - type: the Kind, one of "boolean", "string", "choice", "question",
//     "document"; required.
//   - rule: string requirements only; a validator/v10 tag string such as
//     "required,numeric,len=6". Empty means "any non-empty string". A rule
//     validator/v10 does not understand (an unknown tag, a bad parameter such
//     as "len=abc") is refused by New.
//   - choices: choice requirements only; a label -> value map with at least
//     one entry, non-empty labels and values, distinct values.
//   - questions: question requirements only; at least one question, each
//     with a unique non-empty key, a non-empty label and at least one answer
//     option, the options non-empty and distinct.
//   - documentTypes: document requirements only; the names of at least one
//     document type declared in the top-level documentTypes, no duplicates.
//     Each declared type needs a positive, unique id, a unique name and at
//     least one side, the sides non-empty and distinct.
//   - review: when true, a valid answer stays pending until a reviewer (or
//     the host, for a code it checks itself) approves it; otherwise a valid
//     answer is approved at once.
//   - setBy: "user" (the default: the subject answers) or "host" (only the
//     host or a reviewer sets it, like the verification status API's verificationFlag; the
//     subject's answer is refused).
//   - maxAttempts: how many answers the subject may give before an admin has
//     to reset the requirement; 0 means [DefaultMaxAttempts], negative is
//     refused.
//
// # Requirement kinds and their answers
//
// [Requirement.Validate] checks the JSON form of an answer and returns a
// [*FieldError] whose Field names the part at fault: "answer" for the answer
// as a whole, "answer.<question key>" for a question, "answer.type" and
// "answer.files.<side>" for a document. An empty or null answer is always
// refused with Field "answer". The five kinds take:
//
//   - [Boolean]: true or false.
//   - [String]: a JSON string that satisfies the rule (with no rule, any
//     non-empty string).
//   - [Choice]: one of the choices' values, not a label.
//   - [Question]: an object giving, for every question key, one of that
//     question's answer options, and no other key.
//   - [Document]: an object naming one of the accepted document types and
//     one uploaded file id for every side of that type, and no other side or
//     field (see [DocumentAnswer] and [Requirement.ParseDocument]). Whether
//     the files exist and belong to the subject is the caller's check.
//
// Valid answers to the demo ladder's requirements, kind by kind:
//
//	boolean   true
//	string    "123456"
//	choice    "DE"
//	question  {"Question1": "answer1", "Question2": "answer3"}
//	document  {"type": "passport", "files": {"front": "f_1", "back": "f_2"}}
//
// [Requirement.Data] returns what a client needs to answer, in the verification status API's
// wire shape: nothing for boolean and string requirements, the label -> value
// map for a choice, the question list for a question, and for a document the
// accepted types with their sides:
//
//	choice    {"German": "DE", "Netherlands": "NL"}
//	question  [{"key": "Question1", "label": "This is the actual question 1?",
//	            "answerOptions": ["answer1", "answer2", "answer3"]}, ...]
//	document  [{"type": "passport", "data": [{"name": "front", "type": "file"},
//	                                         {"name": "back", "type": "file"}]}]
//
// # Statuses
//
// A subject's [Status] for each requirement is one of:
//
//   - missing: not answered yet (or reset). A requirement absent from States
//     is missing.
//   - pending: answered, awaiting review or a code confirmation.
//   - rejected: reviewed and refused; it needs a new answer.
//   - approved: counts toward levels.
//
// # Evaluation
//
// [Ladder.Evaluate](states, target) is pure and cheap (well under a
// microsecond for the demo ladder). It returns a [Result] with:
//
//   - Level: the highest level whose requirements, and those of every level
//     below it, are all approved. An approved requirement of a higher level
//     does not raise the level while a lower one is not approved; with
//     nothing approved the level is the first.
//   - Outstanding: every requirement of the levels up to and including the
//     target that is not approved, in ladder order, with its status (missing
//     when absent from states, otherwise as given, e.g. "pending" or
//     "rejected"), its type and its data: exactly the items of the verification status API's
//     GET /api/v2/user/verification-status.
//
// The target is a level ID. Target 0 means the top of the ladder, which is
// what the status route uses (the verification status API's example lists the requirements of
// every level at once); an unknown target is also treated as the top. An
// empty Outstanding ([Result.Verified]) means verified up to the target, which
// the status route serves as [].
package levels
