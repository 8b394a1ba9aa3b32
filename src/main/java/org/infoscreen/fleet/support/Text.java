package org.infoscreen.fleet.support;

import java.util.regex.Pattern;

/** Small text rules shared by the device and REST validation. */
public final class Text {

    /** A UUID in its canonical 8-4-4-4-12 hexadecimal form (either case). */
    public static final Pattern UUID_PATTERN =
            Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    private Text() {
    }

    /**
     * Shortens untrusted text before it goes into an error message or a log line.
     *
     * @param s text, may be {@code null}
     * @return at most 64 characters plus an ellipsis; {@code ""} for {@code null}
     */
    public static String abbreviate(String s) {
        if (s == null) {
            return "";
        }
        return s.length() <= 64 ? s : s.substring(0, 64) + "…";
    }
}
