import TesseraCore
import TesseraPostgres

/// `demo.product_catalog`, the source of the default config's `product_catalog` batch
/// view. `tessera produce` creates it when missing and upserts the products of its
/// clickstream; a row's `updated_at` moves only when its values change, so materialize
/// picks up exactly the changed products.
public enum DemoProductTable {
    public static let name = "demo.product_catalog"

    /// Creates the table if needed and upserts the products; returns how many rows were
    /// inserted or changed.
    @discardableResult
    public static func upsert(_ products: [DemoProductDetails], on connection: PostgresConnection) throws -> Int {
        try connection.executeScript(
            """
            create schema if not exists demo;
            create table if not exists demo.product_catalog (
                product_id text primary key,
                price      double precision,
                category   text,
                brand      text,
                in_stock   boolean,
                popularity double precision,
                updated_at timestamptz not null default now()
            );
            create index if not exists product_catalog_updated_at on demo.product_catalog (updated_at);
            """)
        return try connection.transaction {
            try connection.execute(
                "create temporary table incoming (like demo.product_catalog including defaults) on commit drop")
            try connection.copyIn(
                "copy incoming (product_id, price, category, brand, in_stock, popularity) from stdin",
                rows: products.lazy.map { product in
                    [product.productID, String(product.price), product.category, product.brand,
                     product.inStock ? "t" : "f", String(product.popularity)]
                })
            return try connection.execute(
                """
                insert into demo.product_catalog as p (product_id, price, category, brand, in_stock, popularity)
                select product_id, price, category, brand, in_stock, popularity from incoming
                on conflict (product_id) do update set
                    price = excluded.price, category = excluded.category, brand = excluded.brand,
                    in_stock = excluded.in_stock, popularity = excluded.popularity, updated_at = now()
                where (p.price, p.category, p.brand, p.in_stock, p.popularity)
                      is distinct from (excluded.price, excluded.category, excluded.brand, excluded.in_stock, excluded.popularity)
                """
            ).affectedRows
        }
    }
}
