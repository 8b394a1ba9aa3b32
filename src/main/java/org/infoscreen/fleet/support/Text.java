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
     * Why a string from a JSON document cannot be stored as PostgreSQL text: PostgreSQL cannot hold
     * the NUL character, and a lone UTF-16 surrogate (a {@code \\uD800}-{@code \\uDFFF} escape
     * without its pair, which JSON parsers accept) is no Unicode character at all: the JDBC driver
     * would silently store it as {@code ?} (RFC 8259 §8.2).
     *
     * @param s text, may be {@code null}
     * @return {@code null} when the text can be stored as it is, otherwise what is wrong with it
     */
    public static String unstorable(String s) {
        if (s == null) {
            return null;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\0') {
                return "the NUL character (U+0000)";
            }
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return "an unpaired UTF-16 surrogate (\\u" + Integer.toHexString(c).toUpperCase() + ")";
            }
        }
        return null;
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
