"""A session with the Python client generated from docs/openapi.json (see .ci/openapi_client.sh).

Usage: openapi_client.py BASE_URL KEY SECRET

Every answer must have a documented status and parse into its documented model with no field
the document leaves out; partial successes and problems are read from their typed bodies.
"""

import sys

import attrs

from numpool_client import Client
from numpool_client.api.inventory import (
    delete_inventory_number,
    get_inventory_number,
    upsert_inventory,
)
from numpool_client.api.numbers import add_numbers_to_pool, delete_numbers_from_pool
from numpool_client.api.operations import healthz
from numpool_client.api.picks import get_sticky, pick_sender
from numpool_client.api.pools import create_pool, delete_pool, get_pool, list_pools, patch_pool
from numpool_client.models import (
    AddedNumbers,
    AddNumbersPartial,
    CreatePool,
    Fallback,
    InventoryUpsert,
    InventoryUpsertNumbersItem,
    InventoryUpsertResult,
    NumberType,
    OwnedNumber,
    PatchPool,
    PickRequest,
    PickResult,
    Pool,
    PoolList,
    PoolNumbers,
    Problem,
    RemoveNumbersPartial,
    StickyMapping,
)

POOLS = "https://developer.nexmo.com/api-errors/number-pools"
COMMON = "https://developer.vonage.com/api-errors"

base, key, secret = sys.argv[1:4]
# An undocumented status raises instead of parsing to None.
client = Client(base_url=base, httpx_args={"auth": (key, secret)}, raise_on_unexpected_status=True)
anonymous = Client(base_url=base, raise_on_unexpected_status=True)


def strict(value, where="body"):
    """Fails if the server sent a field the document does not declare, at any depth."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            strict(item, f"{where}[{i}]")
    elif attrs.has(type(value)):
        extra = getattr(value, "additional_properties", {})
        assert not extra, f"{where} has fields the document lacks: {sorted(extra)}"
        for field in attrs.fields(type(value)):
            if field.name != "additional_properties":
                strict(getattr(value, field.name), f"{where}.{field.name}")


def new_pool(pool_id):
    """A create body for `pool_id`, with Vonage's required fields."""
    return CreatePool(
        pool_id=pool_id,
        fallback=Fallback.POOL,
        localized_sender_preferred=True,
        predictable_sender_preferred=True,
    )


def call(endpoint, status, model, **kwargs):
    """Calls `endpoint`, checks the status and the parsed model, and returns the model."""
    kwargs.setdefault("client", client)
    response = endpoint.sync_detailed(**kwargs)
    got = response.parsed
    assert response.status_code == status, (response.status_code, response.content)
    assert isinstance(got, model), (type(got), response.content)
    strict(got)
    return got


def problem(endpoint, status, anchor, **kwargs):
    """Calls `endpoint` expecting a problem of `status` whose type ends in `#anchor`."""
    got = call(endpoint, status, Problem, **kwargs)
    assert got.type_.endswith(f"#{anchor}"), got
    assert got.title and got.detail and got.instance, got
    return got


assert call(healthz, 200, object, client=anonymous).status.value == "ok"

# Inventory: two UK mobiles and a US number, with details.
owned = ["447700900101", "447700900102", "13125550177"]
result = call(
    upsert_inventory,
    201,
    InventoryUpsertResult,
    account_id=key,
    body=InventoryUpsert(
        numbers=[
            InventoryUpsertNumbersItem(number=owned[0], network="23415", type_=NumberType.MOBILE),
            InventoryUpsertNumbersItem(number=owned[1]),
            InventoryUpsertNumbersItem(number="+" + owned[2], weight=3),
        ]
    ),
)
assert sorted(result.created) == sorted(owned) and result.updated == [], result
number = call(get_inventory_number, 200, OwnedNumber, account_id=key, number=owned[0])
assert (number.country, number.network, number.type_, number.weight) == (
    "GB",
    "23415",
    NumberType.MOBILE,
    1,
), number

# A pool, then a PATCH that sends one field only.
pool = call(
    create_pool,
    201,
    Pool,
    account_id=key,
    body=new_pool("openapi-client"),
)
assert pool.custom_from is None and pool.number_count == 0, pool
pool = call(
    patch_pool,
    201,
    Pool,
    account_id=key,
    pool_id="openapi-client",
    body=PatchPool(sticky_ttl_seconds=3600),
)
assert pool.sticky_ttl_seconds == 3600 and pool.fallback == Fallback.POOL, pool

# Partial add: the number the account does not own comes back in the typed 207 error.
stranger = "447700900199"
added = call(
    add_numbers_to_pool,
    207,
    AddNumbersPartial,
    account_id=key,
    pool_id="openapi-client",
    body=PoolNumbers(numbers=[*owned, stranger]),
)
assert sorted(added.numbers) == sorted(owned), added
assert added.error.type_ == f"{POOLS}#add-numbers-partial-failure", added.error
[missing] = added.error.errors
assert missing.type_ == f"{POOLS}#missing-number-subscription", missing
assert missing.numbers == [stranger], missing
again = call(
    add_numbers_to_pool,
    201,
    AddedNumbers,
    account_id=key,
    pool_id="openapi-client",
    body=PoolNumbers(numbers=owned[:1]),
)
assert again.numbers == owned[:1], again

# A pick, and the sticky mapping it left.
pick = call(
    pick_sender,
    200,
    PickResult,
    account_id=key,
    pool_id="openapi-client",
    body=PickRequest(to="+447400123459"),
)
assert pick.from_ in owned[:2] and pick.reason.value == "country", pick
sticky = call(
    get_sticky, 200, StickyMapping, account_id=key, pool_id="openapi-client", to="447400123459"
)
assert sticky.from_ == pick.from_, sticky

# Partial remove: its typed 207 wraps each item in `error`.
removed = call(
    delete_numbers_from_pool,
    207,
    RemoveNumbersPartial,
    account_id=key,
    pool_id="openapi-client",
    body=PoolNumbers(numbers=[owned[2], stranger]),
)
assert removed.numbers == [owned[2]], removed
assert removed.error.type_ == f"{POOLS}#delete-numbers-partial-failure", removed.error
assert removed.error.errors[0].error.numbers == [stranger], removed.error

# Problems, read as the typed Problem.
problem(get_pool, 404, "not-found", account_id=key, pool_id="no-such-pool")
invalid = problem(
    create_pool,
    400,
    "validation",
    account_id=key,
    body=new_pool("not a pool id"),
)
assert [p.name for p in invalid.invalid_parameters] == ["pool_id"], invalid
failed = problem(
    add_numbers_to_pool,
    400,
    "add-number-failure",
    account_id=key,
    pool_id="openapi-client",
    body=PoolNumbers(numbers=[stranger]),
)
assert failed.errors[0].numbers == [stranger], failed
limit = problem(
    add_numbers_to_pool,
    400,
    "bulk-number-delete-limit",
    account_id=key,
    pool_id="openapi-client",
    body=PoolNumbers(numbers=[f"4477009{i:05}" for i in range(51)]),
)
assert limit.invalid_parameters[0].name == "numbers", limit
problem(
    create_pool,
    409,
    "pool-id-exists",
    account_id=key,
    body=new_pool("openapi-client"),
)
problem(
    pick_sender,
    422,
    "rejected",
    account_id=key,
    pool_id="strict",
    body=PickRequest(to="+33612345678"),
)
wrong = Client(base_url=base, httpx_args={"auth": (key, "wrong")}, raise_on_unexpected_status=True)
assert problem(list_pools, 401, "unauthorized", client=wrong, account_id=key).type_.startswith(
    COMMON
)

# Listing, then clean up.
pools = call(list_pools, 200, PoolList, account_id=key, page_size=100)
assert "openapi-client" in [p.pool_id for p in pools.field_embedded.pools], pools
call(delete_pool, 200, Pool, account_id=key, pool_id="openapi-client")
for n in owned:
    call(delete_inventory_number, 200, OwnedNumber, account_id=key, number=n)
print("openapi client session ok")
