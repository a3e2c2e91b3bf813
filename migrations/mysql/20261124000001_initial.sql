-- Conduit schema, MySQL/MariaDB flavour. Kept in step with ../sqlite/20261124000001_initial.sql.
-- utf8mb4_unicode_ci makes email, username and tag names unique regardless of letter case, as
-- COLLATE NOCASE does on SQLite. No *_bin collations: sqlx reports those columns as VARBINARY
-- and refuses to decode them as strings.

CREATE TABLE users (
    id            BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    username      VARCHAR(64)  NOT NULL COLLATE utf8mb4_unicode_ci,
    email         VARCHAR(255) NOT NULL COLLATE utf8mb4_unicode_ci,
    password_hash VARCHAR(255) NOT NULL,
    bio           TEXT,
    image         VARCHAR(1024),
    role          VARCHAR(16)  NOT NULL DEFAULT 'user',
    disabled      BOOLEAN      NOT NULL DEFAULT FALSE,
    token_version BIGINT       NOT NULL DEFAULT 0,
    created_at    DATETIME(3)  NOT NULL,
    updated_at    DATETIME(3)  NOT NULL,
    UNIQUE KEY users_username (username),
    UNIQUE KEY users_email (email),
    CONSTRAINT users_role CHECK (role IN ('user', 'admin'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE sessions (
    id         VARCHAR(64) NOT NULL PRIMARY KEY,
    user_id    BIGINT      NOT NULL,
    remember   BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at DATETIME(3) NOT NULL,
    expires_at DATETIME(3) NOT NULL,
    revoked_at DATETIME(3),
    KEY sessions_user_id (user_id),
    CONSTRAINT sessions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE follows (
    follower_id BIGINT      NOT NULL,
    followee_id BIGINT      NOT NULL,
    created_at  DATETIME(3) NOT NULL,
    PRIMARY KEY (follower_id, followee_id),
    KEY follows_followee_id (followee_id),
    CONSTRAINT follows_follower FOREIGN KEY (follower_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT follows_followee FOREIGN KEY (followee_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB;

CREATE TABLE articles (
    id          BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
    slug        VARCHAR(255)  NOT NULL,
    title       VARCHAR(255)  NOT NULL,
    description VARCHAR(1024) NOT NULL,
    body        MEDIUMTEXT    NOT NULL,
    author_id   BIGINT        NOT NULL,
    created_at  DATETIME(3)   NOT NULL,
    updated_at  DATETIME(3)   NOT NULL,
    UNIQUE KEY articles_slug (slug),
    KEY articles_created_at (created_at, id),
    KEY articles_author_created (author_id, created_at, id),
    CONSTRAINT articles_author FOREIGN KEY (author_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE tags (
    id   BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(64) NOT NULL,
    UNIQUE KEY tags_name (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE article_tags (
    article_id BIGINT NOT NULL,
    tag_id     BIGINT NOT NULL,
    PRIMARY KEY (article_id, tag_id),
    KEY article_tags_tag_id (tag_id, article_id),
    CONSTRAINT article_tags_article FOREIGN KEY (article_id) REFERENCES articles (id) ON DELETE CASCADE,
    CONSTRAINT article_tags_tag FOREIGN KEY (tag_id) REFERENCES tags (id) ON DELETE CASCADE
) ENGINE = InnoDB;

CREATE TABLE favorites (
    user_id    BIGINT      NOT NULL,
    article_id BIGINT      NOT NULL,
    created_at DATETIME(3) NOT NULL,
    PRIMARY KEY (user_id, article_id),
    KEY favorites_article_id (article_id, user_id),
    CONSTRAINT favorites_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT favorites_article FOREIGN KEY (article_id) REFERENCES articles (id) ON DELETE CASCADE
) ENGINE = InnoDB;

CREATE TABLE comments (
    id         BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    article_id BIGINT      NOT NULL,
    author_id  BIGINT      NOT NULL,
    body       TEXT        NOT NULL,
    created_at DATETIME(3) NOT NULL,
    updated_at DATETIME(3) NOT NULL,
    KEY comments_article_id (article_id, id),
    KEY comments_author_id (author_id),
    CONSTRAINT comments_article FOREIGN KEY (article_id) REFERENCES articles (id) ON DELETE CASCADE,
    CONSTRAINT comments_author FOREIGN KEY (author_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE audit_log (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    actor_id    BIGINT,
    actor_name  VARCHAR(64)  NOT NULL,
    action      VARCHAR(64)  NOT NULL,
    entity      VARCHAR(32)  NOT NULL,
    entity_id   VARCHAR(255),
    before_json MEDIUMTEXT,
    after_json  MEDIUMTEXT,
    created_at  DATETIME(3)  NOT NULL,
    KEY audit_log_created_at (created_at, id),
    KEY audit_log_actor_id (actor_id),
    CONSTRAINT audit_log_actor FOREIGN KEY (actor_id) REFERENCES users (id) ON DELETE SET NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE login_attempts (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email      VARCHAR(255) NOT NULL COLLATE utf8mb4_unicode_ci,
    ip         VARCHAR(64)  NOT NULL,
    created_at DATETIME(3)  NOT NULL,
    KEY login_attempts_email (email, created_at),
    KEY login_attempts_ip (ip, created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
