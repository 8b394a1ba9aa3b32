package org.infoscreen.fleet.security;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * The bootstrap admin token: with authentication on and no API tokens configured, the first start
 * creates one admin token so the service is usable at once and never open. Only its SHA-256 is
 * kept (table {@code api_bootstrap_token}, shared by every instance on the database); the
 * plaintext is written once, at creation, to a file with mode 600 whose path — never the value —
 * is logged. Later starts accept the same token until API tokens are configured. A database
 * without the row (a new or reset database) adopts the token already in the file, so one
 * development checkout keeps one token across databases; a file that does not hold this
 * database's token is reported at WARN.
 */
public final class BootstrapAdminToken {

    /** Name of the bootstrap token: {@code requested_by} of what it does. */
    public static final String NAME = "bootstrap-admin";

    private static final Logger LOG = LoggerFactory.getLogger(BootstrapAdminToken.class);

    private BootstrapAdminToken() {
    }

    /**
     * @param dataSource the service's (migrated) database
     * @param file       where the plaintext goes when the token is created now, e.g. {@code data/admin-token}
     * @return the bootstrap token (hash only)
     * @throws IllegalStateException when the database cannot be read or the file cannot be written
     *                               (then no token is created)
     */
    public static ApiToken ensure(DataSource dataSource, Path file) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                ApiToken existing = read(c);
                String inFile = readToken(file);
                if (existing != null) {
                    c.commit();
                    if (inFile != null && !existing.matches(ApiToken.hash(inFile))) {
                        LOG.warn("{} does not hold the bootstrap admin token of this database (it belongs to another one); "
                                + "configure API tokens, or use the token written when this database was new", file.toAbsolutePath());
                    }
                    LOG.info("No API tokens configured (API_TOKENS, API_TOKENS_FILE): the bootstrap admin token is accepted "
                            + "(its plaintext was written at creation to {}{})", file.toAbsolutePath(),
                            Files.exists(file) ? "" : ", since removed");
                    return existing;
                }
                boolean adopt = inFile != null;
                String token = adopt ? inFile : ApiToken.newToken();
                ApiToken created = new ApiToken(NAME, Role.ADMIN, ApiToken.hash(token));
                try (PreparedStatement ps = c.prepareStatement(
                        "INSERT INTO api_bootstrap_token (name, token_sha256) VALUES (?, ?) ON CONFLICT DO NOTHING")) {
                    ps.setString(1, NAME);
                    ps.setBytes(2, created.sha256());
                    if (ps.executeUpdate() == 0) {
                        // another instance created it at the same moment: use that one
                        c.rollback();
                        ApiToken other = read(c);
                        c.commit();
                        LOG.info("No API tokens configured: the bootstrap admin token created by another instance is accepted");
                        return other;
                    }
                }
                if (adopt) {
                    c.commit();
                    LOG.info("No API tokens configured: this new database adopted the bootstrap admin token in {}", file.toAbsolutePath());
                    return created;
                }
                writeOwnerOnly(file, token);
                c.commit();
                LOG.warn("No API tokens configured (API_TOKENS, API_TOKENS_FILE): created the bootstrap admin token and "
                        + "wrote it once to {} (mode 600). Use it as 'Authorization: Bearer <token>', then configure "
                        + "your own tokens (java -jar infoscreen-fleet.jar token --help) and delete the file.",
                        file.toAbsolutePath());
                return created;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read or create the bootstrap admin token in the database", e);
        }
    }

    /** @return the token in {@code file} when it holds one ({@code fleet_...}), else null */
    private static String readToken(Path file) {
        try {
            if (!Files.isRegularFile(file)) {
                return null;
            }
            String t = Files.readString(file, StandardCharsets.UTF_8).strip();
            return t.matches("fleet_[A-Za-z0-9_-]{43}") ? t : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static ApiToken read(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT name, token_sha256 FROM api_bootstrap_token FOR UPDATE");
             ResultSet rs = ps.executeQuery()) {
            return rs.next() ? new ApiToken(rs.getString(1), Role.ADMIN, rs.getBytes(2)) : null;
        }
    }

    /** Writes {@code token} to {@code file} atomically, readable by the owner only (mode 600 where POSIX). */
    static void writeOwnerOnly(Path file, String token) {
        try {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
            Path tmp = posix
                    ? Files.createTempFile(dir, ".admin-token", ".tmp", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))
                    : Files.createTempFile(dir, ".admin-token", ".tmp");
            try {
                Files.writeString(tmp, token + "\n", StandardCharsets.UTF_8);
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
            if (posix) {
                Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the bootstrap admin token file " + file.toAbsolutePath()
                    + " (set API_BOOTSTRAP_TOKEN_FILE to a writable path)", e);
        }
    }
}
