"""Partition keys of the items functions keep in shared tables, each scoped to its owner.

Several functions share the idempotency table and the results table. Each function's role may
touch only items whose partition key begins with its own route, without the leading slash, and
`#` (`stories/segments#...`): template.yaml grants the table actions with the condition
`ForAllValues:StringLike` on `dynamodb:LeadingKeys` = `${aws:PrincipalTag/contentgen-route}#*`,
and tags each function (and so, through SAM, its role) with `contentgen-route`. One function can
therefore neither read, overwrite nor delete another's records or results ("Using IAM policy
conditions for fine-grained access control", Amazon DynamoDB Developer Guide,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).

Large results go to S3 under `results/<record_key>.json` (`results/stories/segments#<id>.json`),
granted as `results/${aws:PrincipalTag/contentgen-route}#*`. The `#` matters there too: routes nest
(`stories/segments` is a prefix of `stories/segments/chunked`), so a grant ending in `<route>/*`
would let the plain stories function write the chunked and sets functions' objects.

The owner is the function's own route (`lambda_entrypoint(direct_route=...)`), fixed in its code,
not the path a request names. Claims of a `request_id` (which route it belongs to) are shared by
every event-fed function and live under `_claim#`; no route can be named `_claim`. IAM cannot
limit what a claim says (no condition key reads attribute values), so claims only refuse a reused
request_id; reading a result never trusts them: `get_result` reads the owners' own items.
"""

from __future__ import annotations

# The principal tag that names a function's route on its role (template.yaml, every function
# that keeps records: `Tags: {contentgen-route: stories/segments}`).
ROUTE_TAG = "contentgen-route"
# Where the request_id claims live (contentgen.stores.results.claim_request_id).
CLAIMS = "_claim"
# The routes whose functions take events and keep results (each function's own `direct_route`;
# a unit test holds this to the template's tags): `get_result` looks for a request_id under each.
RESULT_ROUTES = (
    "/stories/segments",
    "/stories/segments/chunked",
    "/stories/segments/sets",
    "/memes/segments",
    "/content",
    "/ideas/trending",
    "/characters/analyze",
    "/thumbnails",
    "/videos",
    "/shorts",
)


def owner_prefix(route_path: str) -> str:
    """`/stories/segments` -> `stories/segments`: the leading key prefix of that route's items."""
    prefix = route_path.strip("/")
    if not prefix or "#" in prefix or prefix == CLAIMS:
        raise ValueError(f"route {route_path!r} cannot own records")
    return prefix


def record_key(route_path: str, key: str) -> str:
    """The partition key of `key` (a request_id) owned by the function serving `route_path`."""
    return f"{owner_prefix(route_path)}#{key}"


def claim_key(request_id: str) -> str:
    """The partition key of the claim that binds `request_id` to one route."""
    return f"{CLAIMS}#{request_id}"


def result_object_key(route_path: str, request_id: str) -> str:
    """The S3 key of a result too large for its DynamoDB item: `results/<route>#<request_id>.json`."""
    return f"results/{record_key(route_path, request_id)}.json"
