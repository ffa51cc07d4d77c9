"""ckanapi writes to machi with an API token as it would to any CKAN portal: a dataset with a
resource, a patch, datastore rows, and a delete. Arguments: the address and the token."""

import sys

import ckanapi

address, token = sys.argv[1], sys.argv[2]
site = ckanapi.RemoteCKAN(address, apikey=token, user_agent="machi-ckanapi-test")

created = site.action.package_create(
    name="hinanjo",
    title="避難所一覧",
    tags=[{"name": "防災"}],
    groups=[{"name": "evacuation_space"}],
    resources=[{"url": "https://example.jp/hinanjo.csv", "name": "避難所（CSV）", "format": "csv"}],
)
assert created["organization"]["name"] == "kikikanri", created["organization"]
assert created["resources"][0]["format"] == "CSV"
patched = site.action.package_patch(id="hinanjo", notes="年1回更新します")
assert patched["notes"] == "年1回更新します" and patched["title"] == "避難所一覧"

resource_id = created["resources"][0]["id"]
site.action.datastore_create(
    resource_id=resource_id,
    fields=[{"id": "名称", "type": "text"}, {"id": "収容人数", "type": "int"}],
    records=[{"名称": "北小学校", "収容人数": 800}],
)
site.action.datastore_upsert(resource_id=resource_id, method="insert", records=[{"名称": "南公園", "収容人数": 2500}])
rows = site.action.datastore_search(resource_id=resource_id, sort="収容人数 desc")
assert [r["名称"] for r in rows["records"]] == ["南公園", "北小学校"], rows["records"]

try:
    site.action.package_create(name="Bad Name", title="")
    raise AssertionError("a bad dataset must be a ValidationError")
except ckanapi.ValidationError as error:
    assert "name" in error.error_dict and "title" in error.error_dict, error.error_dict

site.action.package_delete(id="hinanjo")
try:
    site.action.package_show(id="hinanjo")
    raise AssertionError("a deleted dataset must be NotFound")
except ckanapi.NotFound:
    pass

anonymous = ckanapi.RemoteCKAN(address, user_agent="machi-ckanapi-test")
try:
    anonymous.action.package_create(name="sneaky", title="x")
    raise AssertionError("writing needs a token")
except ckanapi.NotAuthorized:
    pass
print("ckanapi wrote, patched, filled the datastore and deleted with a token")
