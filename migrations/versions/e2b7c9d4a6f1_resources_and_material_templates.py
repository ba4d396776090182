"""one name from screen to table: resources and material templates

- ``assets`` is renamed ``resources`` (the marketing files partners download: "Resources"
  on every screen), with its constraints, index and id sequence.
- ``document_templates`` is renamed ``material_templates`` (the templates of co-branded
  materials: "Material templates" on every screen), likewise; ``material_renders``' foreign
  key follows. No row changes. The files stay where they are on disk.

On SQLite a rename keeps the constraint names written in the table's definition (SQLite
cannot rename a constraint, and names nothing by them); PostgreSQL renames them too.

Revision ID: e2b7c9d4a6f1
Revises: d8a4f6c2e9b7
Create Date: 2026-12-07 15:00:00

"""
from alembic import op

revision = "e2b7c9d4a6f1"
down_revision = "d8a4f6c2e9b7"
branch_labels = None
depends_on = None

RENAMES = [
    ("assets", "resources", {
        "constraints": ["pk_{}", "uq_{}_stored_name", "ck_{}_download_count", "ck_{}_size_bytes",
                        "fk_{}_uploaded_by_id_users"],
        "indexes": ["ix_{}_active_category"]}),
    ("document_templates", "material_templates", {
        "constraints": ["pk_{}", "uq_{}_key", "ck_{}_version", "fk_{}_updated_by_id_users"],
        "indexes": []}),
]
RENDERS_FK = "fk_material_renders_template_id_{}"


def _rename(old: str, new: str) -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    names = dict(RENAMES_BY_OLD[old] if old in RENAMES_BY_OLD else RENAMES_BY_OLD[new])
    op.rename_table(old, new)
    if not postgresql:
        _sqlite_names(old, new, names)
        return
    for constraint in names["constraints"]:
        op.execute(f'ALTER TABLE {new} RENAME CONSTRAINT "{constraint.format(old)}" '
                   f'TO "{constraint.format(new)}"')
    for index in names["indexes"]:
        op.execute(f'ALTER INDEX "{index.format(old)}" RENAME TO "{index.format(new)}"')
    op.execute(f'ALTER SEQUENCE IF EXISTS "{old}_id_seq" RENAME TO "{new}_id_seq"')


#: The unique column of each table (SQLite keeps unique constraints' names in the table's
#: definition: the table is copied to name them anew).
UNIQUE = {"resources": "stored_name", "assets": "stored_name", "material_templates": "key",
          "document_templates": "key"}


def _sqlite_names(old: str, new: str, names: dict) -> None:
    for index in names["indexes"]:
        op.execute(f"DROP INDEX IF EXISTS {index.format(old)}")
        op.create_index(index.format(new), new, ["active", "category"])
    with op.batch_alter_table(new, recreate="always") as batch:
        batch.drop_constraint(f"uq_{old}_{UNIQUE[new]}", type_="unique")
        batch.create_unique_constraint(f"uq_{new}_{UNIQUE[new]}", [UNIQUE[new]])


RENAMES_BY_OLD = {old: names for old, _new, names in RENAMES}
RENAMES_BY_OLD.update({new: names for _old, new, names in RENAMES})


def _renders_fk(old: str, new: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f'ALTER TABLE material_renders RENAME CONSTRAINT "{RENDERS_FK.format(old)}" '
                   f'TO "{RENDERS_FK.format(new)}"')


def upgrade():
    for old, new, _names in RENAMES:
        _rename(old, new)
    _renders_fk("document_templates", "material_templates")


def downgrade():
    for old, new, _names in RENAMES:
        _rename(new, old)
    _renders_fk("material_templates", "document_templates")
