"""JUnit XML: a test suite per file, a test case per finding.

Only findings at or above ``--fail-on`` are ``<failure>``s, so a merge request shows as
failed exactly the findings that fail the job; the others are passing cases whose
``<system-out>`` says what was found. The shape is the common JUnit schema (Jenkins'
junit-10.xsd): the file and line go into the case name and text, not extra attributes.
"""

from __future__ import annotations

from itertools import groupby
from xml.etree import ElementTree as ET

from kgen.findings import SEVERITY_RANK, LintReport, describe_object
from kgen.report.escape import xml_text


def render(report: LintReport, *, fail_on: str = "error") -> str:
    threshold = SEVERITY_RANK[fail_on]
    failing = sum(SEVERITY_RANK[f.severity] >= threshold for f in report.findings)
    suites = ET.Element("testsuites", name="kgen lint", tests=str(len(report.findings) or 1), failures=str(failing), errors="0")
    if not report.findings:
        suite = ET.SubElement(suites, "testsuite", name="kgen lint", tests="1", failures="0", errors="0")
        ET.SubElement(suite, "testcase", classname="kgen", name=f"{report.objects} objects in {report.files} files")
    for file, findings in groupby(report.findings, key=lambda f: f.file):
        batch = list(findings)
        failures = sum(SEVERITY_RANK[f.severity] >= threshold for f in batch)
        suite = ET.SubElement(suites, "testsuite", name=file, tests=str(len(batch)), failures=str(failures), errors="0")
        for f in batch:
            subject = " ".join(part for part in (describe_object(f.object), f.path, f"[{f.environment}]" if f.environment else "") if part)
            case = ET.SubElement(suite, "testcase", classname=f"kgen.{f.category}.{f.rule}", name=f"{subject or file} ({file}:{f.line})")
            detail = f"{file}:{f.line}:{f.column}: {f.severity}: {f.message} [{f.rule}]"
            if SEVERITY_RANK[f.severity] >= threshold:
                ET.SubElement(case, "failure", message=f.message, type=f.severity).text = detail
            else:
                ET.SubElement(case, "system-out").text = f"{detail} (below --fail-on {fail_on})"
    for element in suites.iter():  # names, paths and messages come from the input: keep the XML valid
        element.attrib.update({key: xml_text(value) for key, value in element.attrib.items()})
        if element.text:
            element.text = xml_text(element.text)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
