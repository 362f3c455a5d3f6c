"""The submission: <net_id>.zip holding exactly theory.pdf and VI.py at its root,
entries sorted, with a fixed timestamp and permissions (same inputs, same bytes).
Written under a temporary name and renamed: an interrupted write never leaves a zip
that looks finished."""

import os
import time
import zipfile
from pathlib import Path

from common import logged


def write_zip(path, members: dict, date_epoch: int) -> None:
    """Write `members` (name in the zip -> file on disk) to `path` atomically and reproducibly."""
    stamp = time.gmtime(max(date_epoch, 315532800))[:6]  # zip cannot store dates before 1980
    tmp = Path(f"{path}.partial")
    try:
        with zipfile.ZipFile(tmp, "w") as zf:
            for name in sorted(members):
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # Unix, so the permissions below are read
                info.external_attr = 0o644 << 16
                zf.writestr(info, Path(members[name]).read_bytes(), compresslevel=9)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # a failed or interrupted write leaves no half zip beside the results


def main(snakemake):
    members = {"theory.pdf": snakemake.input.pdf, "VI.py": snakemake.input.code}
    write_zip(snakemake.output.zip, members, snakemake.params.date_epoch)
    print(f"wrote {snakemake.output.zip}: {', '.join(sorted(members))}")


if __name__ == "__main__":
    with logged(snakemake):  # noqa: F821
        main(snakemake)  # noqa: F821
