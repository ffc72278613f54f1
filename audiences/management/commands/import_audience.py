"""manage.py import_audience FILE.csv [--strict]: upsert members by mobile (or email)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError
from tqdm import tqdm

from audiences.services.importing import ImportRefused, members_import

SHOWN_PROBLEMS = 50


def _count_rows(path: str) -> int:
    with open(path, "rb") as raw:
        return max(sum(1 for _ in raw) - 1, 0)


class Command(BaseCommand):
    help = "Import audience members from a CSV file, updating those that exist (by mobile, else email)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV with a header of API field names and custom attributes")
        parser.add_argument("--strict", action="store_true", help="import nothing when any row is bad")
        parser.add_argument("--no-progress", action="store_true", help="do not draw a progress bar")

    def handle(self, *args, path, strict, no_progress, **options):
        try:
            expected = _count_rows(path)
            stream = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error}") from None
        bar = tqdm(total=expected, unit="rows", disable=no_progress, file=self.stderr._out)
        try:
            with stream:
                report = members_import(stream=stream, strict=strict, progress=bar.update, expected_rows=expected)
        except ImportRefused as error:
            raise CommandError(str(error)) from None
        except IntegrityError as error:
            raise CommandError(
                f"members were added meanwhile with a mobile or email of this file; nothing imported, run it again "
                f"({error.__cause__ or error})"
            ) from None
        except UnicodeDecodeError as error:
            raise CommandError(f"the file is not UTF-8 text: {error}") from None
        finally:
            bar.close()
        for line, problem in report.bad[:SHOWN_PROBLEMS]:
            self.stderr.write(f"line {line}: {problem}")
        if report.bad_count > SHOWN_PROBLEMS:
            self.stderr.write(f"... and {report.bad_count - SHOWN_PROBLEMS} more bad rows")
        if not report.imported:
            raise CommandError(f"{report.bad_count} bad rows of {report.rows}: nothing imported (--strict)")
        self.stdout.write(
            f"{report.rows} rows: {report.created} members added, {report.updated} updated, "
            f"{report.bad_count} bad rows skipped"
        )
