"""ckanapi writes a 50-row table with primary_key "code" to machi's datastore, the side-by-side
run against CKAN 2.12 that issue 20 came from, and checks each answer is CKAN's:

1. primary_key is a real unique key;  2. upsert by key updates;  3. a duplicate insert and an
update of a missing key are ValidationErrors naming the key;  4. updates change only the
fields sent;  5. PostgreSQL's type names are accepted and reported back;  6. q per field, and
a limit above the maximum is capped;  7. datastore_info gives types and meta.
A failing record leaves the table as it was. Arguments: the address and a writer's token."""

import sys

import ckanapi

address, token = sys.argv[1], sys.argv[2]
site = ckanapi.RemoteCKAN(address, apikey=token, user_agent="machi-ckanapi-test")

created = site.action.package_create(
    name="shisetsu",
    title="公共施設一覧",
    resources=[
        {"url": "https://example.jp/shisetsu.csv", "name": "施設（CSV）", "format": "csv"},
        {"url": "https://example.jp/types.csv", "name": "型", "format": "csv"},
    ],
)
table = created["resources"][0]["id"]
typed = created["resources"][1]["id"]
CITIES = ["大阪市", "堺市", "豊中市", "吹田市", "高槻市"]
rows = [
    {"code": "C%03d" % i, "name": "%s 施設%d" % (CITIES[i % 5], i), "count": i * 10, "ratio": i / 4}
    for i in range(1, 51)
]


def search(**params):
    return site.action.datastore_search(resource_id=table, **params)


def one(code):
    found = search(filters={"code": code})["records"]
    assert len(found) == 1, found
    return found[0]


def refused(action, **params):
    """The error_dict of a call that must be a ValidationError."""
    try:
        getattr(site.action, action)(**params)
    except ckanapi.ValidationError as error:
        return error.error_dict
    raise AssertionError(f"{action} {params} must be a ValidationError")


# 1. primary_key makes a unique key.
made = site.action.datastore_create(
    resource_id=table,
    fields=[
        {"id": "code", "type": "text"},
        {"id": "name", "type": "text"},
        {"id": "count", "type": "int"},
        {"id": "ratio", "type": "float8"},
    ],
    primary_key="code",
    records=rows,
)
assert made["primary_key"] == ["code"], made
info = site.action.datastore_info(id=table)
assert info["meta"]["count"] == 50, info["meta"]
code_field = [f for f in info["fields"] if f["id"] == "code"][0]
assert code_field["schema"]["uniquekey"] is True and code_field["schema"]["is_index"], code_field

# 2. upsert by key updates the row, no second C002.
site.action.datastore_upsert(resource_id=table, method="upsert", records=[{"code": "C002", "name": "更新済み"}])
assert search()["total"] == 50
c002 = one("C002")
assert c002["name"] == "更新済み" and c002["count"] == 20 and c002["ratio"] == 0.5, c002
site.action.datastore_upsert(resource_id=table, records=[{"code": "C051", "name": "新設", "count": 5}])
assert search()["total"] == 51 and one("C051")["_id"] == 51
site.action.datastore_upsert(resource_id=table, records=[{"code": "C777", "name": "試し"}], dry_run=True)
assert search(filters={"code": "C777"})["total"] == 0, "a dry run keeps nothing"

# 3. a duplicate insert is refused naming the key; an update of a missing key is refused.
error = refused("datastore_upsert", resource_id=table, method="insert",
                records=[{"code": "C900"}, {"code": "C003", "name": "重複"}])
assert error["records_row"] == 1 and "C003" in str(error["records"]), error
assert "C900" not in [r["code"] for r in search(limit=100)["records"]], "nothing of a failed call is kept"
error = refused("datastore_upsert", resource_id=table, method="update", records=[{"code": "C999", "name": "x"}])
assert "not found" in error["key"][0] and "C999" in error["key"][0], error
error = refused("datastore_upsert", resource_id=table, method="upsert", records=[{"name": "鍵なし"}])
assert "code" in error["key"][0], error
assert search()["total"] == 51

# 4. updates by _id change only the fields sent.
c004 = one("C004")
site.action.datastore_upsert(resource_id=table, method="update", records=[{"_id": c004["_id"], "count": 4444}])
after = one("C004")
assert after["count"] == 4444 and after["name"] == c004["name"] and after["ratio"] == c004["ratio"], after
site.action.datastore_upsert(resource_id=table, method="upsert", records=[{"_id": c004["_id"], "ratio": 9.5}])
after = one("C004")
assert after["count"] == 4444 and after["ratio"] == 9.5 and after["name"] == c004["name"], after

# A failing record leaves the table as it was, and says which record it was.
error = refused("datastore_upsert", resource_id=table, method="upsert",
                records=[{"code": "C005", "name": "途中"}, {"code": "C006", "count": "たくさん"}])
assert error["records_row"] == 1 and "たくさん" in error["records"][0], error
assert one("C005")["name"] != "途中"
error = refused("datastore_upsert", resource_id=table, method="update", records=[{"code": "C005", "colour": "red"}])
assert "colour" in error["fields"][0], error

# 5. PostgreSQL's type names.
types = {"at": "timestamp", "at_tz": "timestamptz", "open": "bool", "staffed": "boolean", "extra": "json",
         "tags": "text[]", "duration": "interval", "area": "float8", "population": "int8", "floors": "int4"}
site.action.datastore_create(
    resource_id=typed,
    fields=[{"id": "id", "type": "text"}] + [{"id": k, "type": t} for k, t in types.items()],
    primary_key=["id"],
    records=[{"id": "a", "at": "2024-04-01 09:30:00", "at_tz": "2024-04-01T09:30:00+09:00", "open": True,
              "staffed": "no", "extra": {"floors": [1, 2]}, "tags": ["防災", "AED"], "duration": "1 day 2 hours",
              "area": 12.5, "population": 3000000000, "floors": 3}],
)
reported = {f["id"]: f["type"] for f in site.action.datastore_info(id=typed)["fields"]}
assert reported == {"id": "text", "at": "timestamp", "at_tz": "timestamptz", "open": "bool", "staffed": "bool",
                    "extra": "json", "tags": "_text", "duration": "interval", "area": "float8",
                    "population": "int8", "floors": "int4"}, reported
record = site.action.datastore_search(resource_id=typed)["records"][0]
assert record["at"] == "2024-04-01T09:30:00" and record["at_tz"] == "2024-04-01T00:30:00+00:00", record
assert record["open"] is True and record["staffed"] is False and record["extra"] == {"floors": [1, 2]}, record
assert record["tags"] == ["防災", "AED"] and record["duration"] == "1 day 02:00:00", record
assert record["population"] == 3000000000 and record["floors"] == 3, record
error = refused("datastore_upsert", resource_id=typed, method="insert", records=[{"id": "b", "floors": 3000000000}])
assert "out of range" in error["records"][0] and error["records_row"] == 0, error
error = refused("datastore_create", resource_id=typed, fields=[{"id": "x", "type": "blob"}])
assert "blob" in error["fields"][0], error

# 6. q per field, and a limit above the maximum is capped.
osaka = search(q={"name": "大阪"}, limit=100)
assert osaka["total"] == 10 and all("大阪" in r["name"] for r in osaka["records"]), osaka["total"]
assert search(q={"name": "大阪", "code": "C005"})["total"] == 1
capped = search(limit=100000)
assert capped["limit"] == 32000 and len(capped["records"]) == 51, capped["limit"]

# 7. datastore_info: each field's type and the table's meta.
info = site.action.datastore_info(id=table)
assert [(f["id"], f["type"]) for f in info["fields"]] == [
    ("code", "text"), ("name", "text"), ("count", "int4"), ("ratio", "float8")], info["fields"]
meta = info["meta"]
assert meta["count"] == 51 and meta["aliases"] == [] and meta["size"] > 0 and meta["table_type"] == "BASE TABLE", meta

# Deleting rows keeps the table, and a deleted row's _id is never given again.
site.action.datastore_delete(resource_id=table, filters={"code": "C051"})
assert search()["total"] == 50
site.action.datastore_upsert(resource_id=table, method="insert", records=[{"code": "C052"}])
assert one("C052")["_id"] == 52
site.action.datastore_delete(resource_id=typed)
try:
    site.action.datastore_search(resource_id=typed)
    raise AssertionError("a deleted table must be NotFound")
except ckanapi.NotFound:
    pass
print("ckanapi found CKAN's answers for keys, upserts, updates, types, q, limit and info")
