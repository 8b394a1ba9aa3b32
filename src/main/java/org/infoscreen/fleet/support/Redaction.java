package org.infoscreen.fleet.support;

import java.util.regex.Pattern;

/**
 * Removes credentials from text before it is stored or logged: {@code password=…} and
 * {@code token=…}, {@code api_key=…} / {@code X-Api-Key: …} (query strings and headers, e.g. Tasmota's {@code user=…&password=…}), {@code "Password": "…"}
 * (JSON bodies such as a Redfish session login), {@code Authorization: Basic|Bearer …} and
 * {@code X-Auth-Token: …} headers. The same expression is applied to every log line by the
 * console layout in {@code log4j2.xml}; keep the two in step.
 */
public final class Redaction {

    /** What a credential looks like in the texts this service produces. */
    public static final Pattern CREDENTIAL = Pattern.compile(
            "(?i)((?:password|passwd|pwd|token|secret|api[-_]?key|x-auth-token)[\"']?\\s*[=:]\\s*|authorization[\"']?\\s*[=:]\\s*[\"']?(?:basic|bearer)\\s+)(?:\"(?:[^\"\\\\]|\\\\.)*\"|'[^']*'|[^\\s\"'&,;}\\[\\]\\\\]+)");

    private Redaction() {
    }

    /**
     * @param text any text, may be {@code null}
     * @return the text with every credential value replaced by {@code ***}
     */
    public static String redact(String text) {
        return text == null ? null : CREDENTIAL.matcher(text).replaceAll("$1***");
    }
}
