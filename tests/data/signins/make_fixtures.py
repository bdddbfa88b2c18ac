#!/usr/bin/env python3
"""Writes the Azure Monitor and Log Analytics fixtures of this folder (issue 33).

Written from the documented schemas, not copied from anyone's export:
- Azure Monitor resource logs' common schema (`time`, `resourceId`, `operationName`,
  `category`, `tenantId`, `resultType`, `callerIpAddress`, `correlationId`, `identity`,
  `Level`, `location`, `properties`), with Microsoft Graph's `signIn` resource in
  `properties`; `category` is `SignInLogs`, `NonInteractiveUserSignInLogs`,
  `ServicePrincipalSignInLogs`, ...; an Event Hub message wraps records in
  `{"records": [...]}`, a storage account writes one record per line (PT1H.json).
- Log Analytics `SigninLogs` and `AADNonInteractiveUserSignInLogs`: the same columns in
  PascalCase; a column typed `dynamic` in one table and `string` in the other comes out
  of `union` as a `_dynamic`/`_string` pair; `Type` names the table.

The four users behave as in the other fixtures: alice on an Entra joined compliant PC,
bob on an unmanaged Mac in the browser, carol on a hybrid joined PC, dave on a registered
phone (who also has a legacy Exchange ActiveSync mail client). Every MFA step is filed
under "Primary authentication", as real records do. Names, addresses and ids are
invented (contoso.example, documentation IP ranges).

    python3 tests/data/signins/make_fixtures.py
"""
import csv
import gzip
import io
import json
import pathlib
import zipfile

HERE = pathlib.Path(__file__).resolve().parent
TENANT = "6f1c3a2e-5b7d-4c9a-8e21-0d4b7a9c3e55"

USERS = {
    "alice": dict(name="Alice Anderson", id="a1f0c5d2-3b4e-4f61-9a7b-1c2d3e4f5a01",
                  device=dict(deviceId="5b0e7c1a-2f44-4c1d-9e3a-a11ce0000142", displayName="PC-0142",
                              operatingSystem="Windows10", browser="Rich Client 5.2.1",
                              isCompliant=True, isManaged=True, trustType="Azure AD joined"),
                  client="Mobile Apps and Desktop clients", ip="203.0.113.10"),
    "bob": dict(name="Bob Brown", id="b2e1d6c3-4c5f-4a72-8b8c-2d3e4f5a6b02",
                device=dict(deviceId="", displayName="", operatingSystem="MacOs",
                            browser="Chrome 133.0.0", isCompliant=False, isManaged=False,
                            trustType=""),
                client="Browser", ip="198.51.100.23"),
    "carol": dict(name="Carol Clark", id="c3f2e7d4-5d6a-4b83-9c9d-3e4f5a6b7c03",
                  device=dict(deviceId="7d2f9e3c-4a66-4e3f-b05c-ca201000077", displayName="PC-0077",
                              operatingSystem="Windows10", browser="Edge 133.0.0",
                              isCompliant=True, isManaged=True, trustType="Hybrid Azure AD joined"),
                  client="Browser", ip="203.0.113.10"),
    "dave": dict(name="Dave Davis", id="d4a3f8e5-6e7b-4c94-8dae-4f5a6b7c8d04",
                 device=dict(deviceId="9f4b1a5e-6c88-4a5b-d27e-da7e00000031", displayName="iPhone",
                             operatingSystem="Ios 18.3", browser="Rich Client 4.2.0",
                             isCompliant=False, isManaged=False, trustType="Azure AD registered"),
                 client="Mobile Apps and Desktop clients", ip="192.0.2.44"),
}

APPS = {
    "Microsoft Teams": "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
    "OfficeHome": "4765445b-32c6-49b0-83e6-1d93765276ca",
    "Office 365 Exchange Online": "00000002-0000-0ff1-ce00-000000000000",
    "Office 365 SharePoint Online": "00000003-0000-0ff1-ce00-000000000000",
    "Microsoft Outlook": "27922004-5251-4030-b22d-91ecd9a37ea4",
    "Fabrikam Expenses": "8f3e2d1c-0b9a-4e8d-a7c6-fab0c0e5a001",
}


def step(method, detail, ok=True):
    # Real records file the authenticator step under "Primary authentication" too.
    return {"authenticationStepDateTime": None, "authenticationMethod": method,
            "authenticationMethodDetail": detail, "succeeded": ok,
            "authenticationStepResultDetail": "MFA successfully completed" if method != "Password" else "Correct password",
            "authenticationStepRequirement": "Primary authentication"}


# (category, user, day, time, app, interactive?, error, steps, mfa method, client override)
ROWS = [
    ("SignInLogs", "alice", 10, "08:02:11", "Microsoft Teams", True, 0,
     [step("Windows Hello for Business", "Windows Hello for Business")], None, None),
    ("NonInteractiveUserSignInLogs", "alice", 10, "09:14:40", "Office 365 Exchange Online", None, 0, [], None, None),
    ("SignInLogs", "alice", 10, "11:45:09", "Fabrikam Expenses", True, 0,
     [step("Previously satisfied", "First factor requirement satisfied by claim in the token")], None, "Browser"),
    ("SignInLogs", "bob", 10, "14:11:20", "OfficeHome", True, 50074, [], None, None),
    ("SignInLogs", "bob", 10, "14:11:58", "OfficeHome", None, 0,
     [step("Password", "Password in the cloud"), step("Mobile app notification", "Microsoft Authenticator app")],
     "Mobile app notification", None),
    ("NonInteractiveUserSignInLogs", "bob", 10, "15:30:02", "Office 365 Exchange Online", None, 0, [], None, None),
    ("SignInLogs", "carol", 11, "08:31:45", "Office 365 SharePoint Online", True, 0,
     [step("Password", "Password Hash Sync"), step("OATH verification code", "Hardware OATH token")],
     "OATH verification code", None),
    ("NonInteractiveUserSignInLogs", "carol", 11, "10:02:13", "Office 365 SharePoint Online", None, 0, [], None, None),
    ("SignInLogs", "dave", 11, "07:55:30", "Microsoft Outlook", True, 0,
     [step("Password", "Password in the cloud"), step("Text message", "+X XXXXXXXX10")], "Text message", None),
    ("NonInteractiveUserSignInLogs", "dave", 12, "06:10:00", "Office 365 Exchange Online", None, 0, [], None,
     "Exchange ActiveSync"),
    ("NonInteractiveUserSignInLogs", "dave", 12, "12:10:00", "Microsoft Outlook", None, 0, [], None, None),
]

ERRORS = {0: ("0", "None", None), 50074: ("50074", "Strong Authentication is required.", "Strong Authentication is required.")}


def signin(row, n):
    category, who, day, at, app, interactive, error, steps, mfa, client = row
    u = USERS[who]
    created = f"2026-03-{day:02d}T{at}Z"
    for s in steps:
        s["authenticationStepDateTime"] = created
    p = {
        "id": f"0c7a{n:04d}-9e4b-4c3d-8a1f-2b6d5e4f3a{n:02d}",
        "createdDateTime": created,
        "userDisplayName": u["name"],
        "userPrincipalName": f"{who}@contoso.example",
        "userId": u["id"],
        "appId": APPS[app],
        "appDisplayName": app,
        "ipAddress": u["ip"],
        "status": {"errorCode": error, "failureReason": ERRORS[error][2] or "Other.",
                   "additionalDetails": None},
        "clientAppUsed": client or u["client"],
        "userAgent": "Mozilla/5.0",
        "deviceDetail": u["device"],
        "location": {"city": "London", "state": "London", "countryOrRegion": "GB",
                     "geoCoordinates": {"latitude": 51.5, "longitude": -0.12}},
        "mfaDetail": {"authMethod": mfa, "authDetail": None} if mfa else {},
        "correlationId": f"9b1d{n:04d}-7061-4ae0-9177-a4e20aee0c{n:02d}",
        "conditionalAccessStatus": "success" if error == 0 else "notApplied",
        "appliedConditionalAccessPolicies": [],
        "originalRequestId": "",
        "tokenIssuerName": "",
        "tokenIssuerType": "AzureAD",
        "authenticationProcessingDetails": [],
        "networkLocationDetails": [{"networkType": "trustedNamedLocation", "networkNames": ["HQ"]}]
        if u["ip"] == "203.0.113.10" else [],
        "processingTimeInMilliseconds": 120,
        "riskDetail": "none",
        "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": "none",
        "riskState": "none",
        "riskEventTypes": [],
        "riskEventTypes_v2": [],
        "resourceDisplayName": "Office 365 Exchange Online" if "Exchange" in app else app,
        "resourceId": APPS[app],
        "resourceTenantId": TENANT,
        "homeTenantId": TENANT,
        "authenticationDetails": steps,
        "authenticationRequirementPolicies": [],
        "authenticationRequirement": "multiFactorAuthentication" if mfa else "singleFactorAuthentication",
        "servicePrincipalId": "",
        "userType": "Member",
        "flaggedForReview": False,
        "isTenantRestricted": False,
        "autonomousSystemNumber": 64500,
        "crossTenantAccessType": "none",
        "incomingTokenType": "primaryRefreshToken" if (who == "alice" and app == "Fabrikam Expenses") else "none",
        "authenticationProtocol": "none",
        "uniqueTokenIdentifier": f"O1l83vBxgm4dUd5GISW{n:03d}",
        "sessionLifetimePolicies": [],
    }
    if interactive is not None:
        p["isInteractive"] = interactive
    return created, p


def record(row, n):
    created, p = signin(row, n)
    category, who = row[0], row[1]
    return {
        "time": created.replace("Z", ".1234567Z"),
        "resourceId": f"/tenants/{TENANT}/providers/Microsoft.aadiam",
        "operationName": "Sign-in activity",
        "operationVersion": "1.0",
        "category": category,
        "tenantId": TENANT,
        "resultType": ERRORS[row[6]][0],
        "resultSignature": "None",
        "resultDescription": ERRORS[row[6]][1],
        "durationMs": 0,
        "callerIpAddress": p["ipAddress"],
        "correlationId": p["correlationId"],
        "identity": USERS[who]["name"],
        "Level": 4,
        "location": "GB",
        "properties": p,
    }


def service_principal(n):
    return {
        "time": "2026-03-11T02:00:00.0000000Z",
        "resourceId": f"/tenants/{TENANT}/providers/Microsoft.aadiam",
        "operationName": "Sign-in activity",
        "operationVersion": "1.0",
        "category": "ServicePrincipalSignInLogs",
        "tenantId": TENANT,
        "resultType": "0",
        "resultSignature": "None",
        "durationMs": 0,
        "callerIpAddress": "192.0.2.200",
        "correlationId": "11111111-2222-4333-8444-555555555555",
        "Level": 4,
        "location": "GB",
        "properties": {"id": f"5e1f{n:04d}-0000-4000-8000-000000000000",
                       "createdDateTime": "2026-03-11T02:00:00Z",
                       "appId": "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901",
                       "appDisplayName": "Nightly export",
                       "servicePrincipalId": "3c4d5e6f-7081-4293-a4b5-c6d7e8f90a12",
                       "servicePrincipalName": "Nightly export",
                       "status": {"errorCode": 0}, "resourceDisplayName": "Microsoft Graph"},
    }


def la_time(iso):
    # "2026-03-10T14:11:20Z" -> "3/10/2026, 2:11:20.000 PM", as the portal's export writes.
    date, time = iso.rstrip("Z").split("T")
    y, m, d = (int(x) for x in date.split("-"))
    hh, mm, ss = (int(x) for x in time.split(":"))
    half = "AM" if hh < 12 else "PM"
    h12 = hh % 12 or 12
    return f"{m}/{d}/{y}, {h12}:{mm:02d}:{ss:02d}.000 {half}"


def main():
    records = [record(r, i + 1) for i, r in enumerate(ROWS)] + [service_principal(99)]
    # An Event Hub message: {"records": [...]}, pretty-printed.
    (HERE / "azure-monitor-eventhub.json").write_text(json.dumps({"records": records}, indent=2) + "\n")
    # A storage account's PT1H.json: one record per line; and its gzip.
    lines = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
    (HERE / "azure-monitor-pt1h.json").write_text(lines)
    with gzip.GzipFile(HERE / "azure-monitor-pt1h.json.gz", "wb", mtime=0) as f:
        f.write(lines.encode())

    # Log Analytics: `union SigninLogs, AADNonInteractiveUserSignInLogs`, exported as CSV
    # without IsInteractive.
    header = ["TenantId", "SourceSystem", "TimeGenerated [UTC]", "ResourceId", "OperationName",
              "OperationVersion", "Category", "ResultType", "ResultSignature", "ResultDescription",
              "DurationMs", "CorrelationId", "Resource", "ResourceGroup", "ResourceProvider", "Identity",
              "Level", "Location", "AlternateSignInName", "AppDisplayName", "AppId",
              "AuthenticationDetails", "AuthenticationRequirement", "ClientAppUsed",
              "ConditionalAccessStatus", "CreatedDateTime [UTC]", "DeviceDetail_dynamic",
              "DeviceDetail_string", "Id", "IPAddress", "LocationDetails_dynamic",
              "LocationDetails_string", "MfaDetail_dynamic", "MfaDetail_string",
              "NetworkLocationDetails", "ResourceDisplayName", "Status_dynamic", "Status_string",
              "UserDisplayName", "UserId", "UserPrincipalName", "UserType", "IncomingTokenType", "Type"]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    for i, row in enumerate(ROWS):
        created, p = signin(row, i + 1)
        interactive = row[0] == "SignInLogs"
        table = "SigninLogs" if interactive else "AADNonInteractiveUserSignInLogs"
        j = lambda v: json.dumps(v, separators=(",", ":"))
        device, status = j(p["deviceDetail"]), j(p["status"])
        mfa, loc = j(p["mfaDetail"]), j(p["location"])
        w.writerow([TENANT, "Azure AD", la_time(created), f"/tenants/{TENANT}/providers/Microsoft.aadiam",
                    "Sign-in activity", "1.0", row[0], ERRORS[row[6]][0], "None", ERRORS[row[6]][1], "0",
                    p["correlationId"], "Microsoft.aadiam", "Microsoft.aadiam", "Microsoft.aadiam",
                    p["userDisplayName"], "4", "GB", p["userPrincipalName"], p["appDisplayName"],
                    p["appId"], j(p["authenticationDetails"]), p["authenticationRequirement"],
                    p["clientAppUsed"], p["conditionalAccessStatus"], la_time(created),
                    device if interactive else "", "" if interactive else device,
                    p["id"], p["ipAddress"], loc if interactive else "", "" if interactive else loc,
                    mfa if interactive else "", "" if interactive else mfa,
                    j(p["networkLocationDetails"]), p["resourceDisplayName"],
                    status if interactive else "", "" if interactive else status,
                    p["userDisplayName"], p["userId"], p["userPrincipalName"], "Member",
                    p["incomingTokenType"], table])
    (HERE / "loganalytics-union.csv").write_text(out.getvalue())

    # The admin center's download as a zip: its two files, and a note that is not a log.
    with zipfile.ZipFile(HERE / "admin-download.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for name, src in [("InteractiveSignIns_2026-03-09_2026-03-13.csv", "admin-interactive.csv"),
                          ("NonInteractiveSignIns_2026-03-09_2026-03-13.csv", "admin-noninteractive.csv")]:
            info = zipfile.ZipInfo(name, date_time=(2026, 3, 13, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, (HERE / src).read_bytes())
        info = zipfile.ZipInfo("readme.txt", date_time=(2026, 3, 13, 0, 0, 0))
        z.writestr(info, "Sign-in logs downloaded from the Entra admin center.\n")


if __name__ == "__main__":
    main()
